"""Serve the local AWS over HTTP on loopback, in the foreground or in a thread."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from runbook_lib.core import local_credentials
from runbook_lib.local.server import auth
from runbook_lib.local.server.dispatcher import LocalAwsApp, default_extensions
from runbook_lib.local.server.guard import GuardedApp
from runbook_lib.local.server.lock import StateDirLock

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4599


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not the operator's terminal."""

    def log_request(self, code="-", size="-") -> None:
        logging.getLogger("runbook.local.http").debug("%s %s", self.requestline, code)


class LocalAwsServer:
    """A threaded HTTP server around :class:`LocalAwsApp`; ``port=0`` picks a free port.

    What arrives over HTTP passes the guard (loopback Host, no foreign Origin, a SigV4
    signature with the state folder's key pair); see :mod:`guard`.
    """

    def __init__(self, state_dir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 allow_origins: tuple[str, ...] = (), allow_remote: bool = False):
        self._lock = StateDirLock(Path(state_dir)).acquire()
        try:
            self.credentials = auth.load_or_create(Path(state_dir))
            self.app = LocalAwsApp(Path(state_dir), default_extensions())
            guarded = GuardedApp(self.app, self.credentials, allow_origins, allow_remote)
            self._server = make_server(host, port, guarded, threaded=True,
                                       request_handler=_QuietHandler)
        except BaseException:
            self._lock.release()
            raise
        # threaded=True makes a ThreadedWSGIServer; make_server is typed as returning its base.
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.app.context.endpoint_url = self.endpoint_url
        local_credentials.register_in_process(self.endpoint_url, self.credentials)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start_thread(self) -> LocalAwsServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws",
                                        daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        local_credentials.unregister_in_process(self.endpoint_url)
        self._server.shutdown()
        self._server.server_close()
        for ext in self.app.extensions:
            close = getattr(ext, "close", None)
            if close:
                close()
        self._lock.release()
