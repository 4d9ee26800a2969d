"""What :class:`~.engine.PipelineEngine` sets and its mixins use, declared for the type checker.

The engine is one class made of mixins: :mod:`.engine_boundaries` (turn-taking at stage
boundaries), :mod:`.engine_actions` (a stage's actions), :mod:`.conditions` (stage conditions)
and :mod:`.engine_control` (operator control). Their methods read the attributes the engine's
``__init__`` sets and call the engine's methods and each other's. Each mixin derives from
:class:`EngineHost`, which only declares those (annotations, and methods under
``TYPE_CHECKING``: at run time it is an empty class), so mypy checks every use against one
declaration, and the engine's attributes and the mixins' methods against it. Declared here, not
in engine.py: the mixins cannot import the engine that imports them
(tests/unit/test_architecture.py refuses the cycle, even for types only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading
    from contextlib import AbstractContextManager

    from runbook_lib.local.codepipeline.approvals import ApprovalBook
    from runbook_lib.local.codepipeline.events import PipelineEvents
    from runbook_lib.local.codepipeline.records import ExecutionKey
    from runbook_lib.local.server.context import LocalContext
    from runbook_lib.local.server.store import JsonStore

# Where an execution is, or waits, in SUPERSEDED mode: (region, pipeline, stage).
Spot = tuple[str, str, str]


class EngineHost:
    """The engine's state and the methods its mixins call (declarations only)."""

    ctx: LocalContext
    store: JsonStore  # every execution, action and rule run: {region: {pipeline: book}}
    lock: threading.RLock  # the store's lock
    changed: threading.Condition  # on ``lock``; notified at every change
    events: PipelineEvents
    approvals: ApprovalBook
    transition_enabled: Callable[[str, str, str], bool]
    closing: bool
    _stops: dict[str, threading.Event]  # execution id -> executors' stop flag
    _gate_flags: dict[tuple[str, str, str], threading.Event]  # (execution, stage, block)
    _superseded: set[str]
    _occupant: dict[Spot, str]  # execution id in each stage (SUPERSEDED mode)
    _waiting: dict[Spot, str]  # execution id waiting to enter each stage

    if TYPE_CHECKING:  # the engine's methods (engine.py)
        def changing(self) -> AbstractContextManager[dict[str, Any]]: ...

        def book(self, region: str, pipeline: str) -> dict[str, Any]: ...

        def execution(self, key: ExecutionKey) -> dict[str, Any] | None: ...

        def _stop_flag(self, execution_id: str) -> threading.Event: ...

        def stop_mode(self, key: ExecutionKey) -> str | None: ...

        def new_execution(self, region: str, declaration: dict[str, Any], *,
                          trigger: dict[str, str], variables: dict[str, str],
                          source_revisions: list[dict[str, str]],
                          execution_type: str = "STANDARD", **extra: Any) -> dict[str, Any]: ...

        def launch(self, execution: dict[str, Any], *, first_stage: str | None = None,
                   rerun: str = "all", resumed: bool = False) -> None: ...

        def spawn(self, target: Callable[..., None], *args: Any) -> None: ...

        def finish(self, key: ExecutionKey, status: str, summary: str) -> None: ...

        # one mixin's methods another calls
        def existing(self, key: ExecutionKey) -> dict[str, Any]: ...  # engine_control

        def cancel_gates(self, execution_id: str | None = None) -> None: ...  # conditions

        def variable_scope(self, execution: dict[str, Any]  # engine_actions
                           ) -> dict[str, dict[str, str]]: ...
