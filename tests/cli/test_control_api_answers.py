"""The control API's client says plainly when something other than the local AWS answers."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.local.server import client


def _serve(status: int, body: bytes, content_type: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status, body, content_type", [
    (502, b"<html><body>Bad Gateway</body></html>", "text/html"),
    (200, b"<html>a captive portal</html>", "text/html"),
    (403, b"", "text/plain"),
    (500, b"\x00\xff not json", "application/octet-stream"),
], ids=["proxy 502 page", "200 html", "empty 403", "binary 500"])
def test_a_non_json_answer_is_a_clear_local_aws_error(status, body, content_type):
    server = _serve(status, body, content_type)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(LocalAwsError) as err:
            client.server_info(endpoint)
    finally:
        server.shutdown()
    message = str(err.value)
    assert endpoint in message and "Fix:" in message
    assert err.value.__cause__ is None or not isinstance(err.value.__cause__, ValueError)
