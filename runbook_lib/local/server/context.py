"""What the dispatcher hands an extension, and what it expects back: a leaf both import.

Extensions (the build service, the pipeline engine, the event bus...) are written against this
module, never against the dispatcher, so the dispatcher can import every extension at module
level without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from runbook_lib.local.server.internal import InternalAws
    from runbook_lib.local.server.moto_gateway import MotoGateway

from runbook_lib.local.server.wire import Request, Response

Handler = Callable[[Request], Response]
E = TypeVar("E")


class Extension(Protocol):
    """What the dispatcher needs of an extension: the operations it serves.

    Optional hooks, looked up by name: ``start()`` once every peer exists (background work),
    ``after_forward(request, status)`` after each request moto answered, ``close()`` at shutdown.
    """

    def routes(self) -> dict[tuple[str, str], Handler]: ...


class Peers:
    """The extensions of one local AWS, found by their class (as moto's services find each
    other's backends), so that a lookup is typed and a renamed class is an import error, not a
    ``KeyError`` at run time.

    Prefer calling a peer through ``LocalContext.aws`` (the wire protocol); reach it directly
    only for what has no AWS API (waiting for a build to end, the project a build runs).
    """

    def __init__(self) -> None:
        self._members: dict[type, object] = {}

    def add(self, extension: object) -> None:
        self._members[type(extension)] = extension

    def find(self, kind: type[E]) -> E | None:  # kind may be a protocol: see PipelineStarter
        """The running ``kind`` (a class, or a ``runtime_checkable`` protocol naming what the
        caller needs), or None when this local AWS runs none (a test's partial set)."""
        member = self._members.get(kind)
        if member is not None:
            return member  # type: ignore[return-value]  # keyed by its own class
        return next((m for m in self._members.values() if isinstance(m, kind)), None)

    def get(self, kind: type[E]) -> E:
        """The running ``kind``; a LookupError names it when it is missing."""
        member = self.find(kind)
        if member is None:
            raise LookupError(f"this local AWS runs no {kind.__name__}; add it to "
                              "default_extensions() in local/server/dispatcher.py")
        return member


@dataclass
class LocalContext:
    """What an extension is given: moto, in-process clients, the state folder, its peers."""

    moto: MotoGateway
    aws: InternalAws
    state_dir: Path
    peers: Peers = field(default_factory=Peers)
    # Where operators (and commands inside builds) reach this local AWS; set by the server.
    endpoint_url: str | None = None
