"""What the dispatcher hands an extension, and what it expects back: a leaf both import.

Extensions (the build service, the pipeline engine, the event bus...) are written against this
module, never against the dispatcher, so the dispatcher can import every extension at module
level without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runbook_lib.local.server.internal import InternalAws
    from runbook_lib.local.server.moto_gateway import MotoGateway
    from runbook_lib.local.server.wire import Request, Response

Handler = Callable[["Request"], "Response"]


class Extension(Protocol):
    """What the dispatcher needs of an extension: the operations it serves.

    Optional hooks, looked up by name: ``start()`` once every peer exists (background work),
    ``after_forward(request, status)`` after each request moto answered, ``close()`` at shutdown.
    """

    def routes(self) -> dict[tuple[str, str], Handler]: ...


@dataclass
class LocalContext:
    """What an extension is given: moto, in-process clients, the state folder, its peers.

    ``extensions`` maps each extension's class name to its instance, so that, for example, the
    pipeline engine can reach the build service; prefer calling peers through ``aws`` (the wire
    protocol) and use direct references only for what has no AWS API.
    """

    moto: MotoGateway
    aws: InternalAws
    state_dir: Path
    extensions: dict[str, Any] = field(default_factory=dict)
    # Where operators (and commands inside builds) reach this local AWS; set by the server.
    endpoint_url: str | None = None
