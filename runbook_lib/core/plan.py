"""Desired state against current state: a plan of changes, shown first, applied only when asked.

Every setup step returns a :class:`Plan`. A step describes what exists (read calls only), so
computing a plan never changes anything; :meth:`Plan.apply` runs the mutating calls of the
changes that need them. A converged re-run therefore makes no mutating call and says
"no changes".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "unchanged", "delete"]

_SYMBOL = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}


@dataclass
class Change:
    """One resource's change: what, how, a readable diff, and the calls that carry it out."""

    resource: str
    action: Action
    diff: list[str] = field(default_factory=list)
    apply_fn: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    applied: bool = False
    # The whole current and desired document of an update, when the step has one, so a review
    # can show a unified diff (policies, buildspecs) beside the short diff lines.
    before: Any = field(default=None, repr=False, compare=False)
    after: Any = field(default=None, repr=False, compare=False)

    @property
    def changes_anything(self) -> bool:
        return self.action != "unchanged"

    def render(self) -> str:
        head = f"{_SYMBOL[self.action]} {self.action:<9} {self.resource}"
        return "\n".join([head, *(f"      {line}" for line in self.diff)])


@dataclass
class Plan:
    """An ordered list of changes for one setup step."""

    step: str
    changes: list[Change] = field(default_factory=list)
    # Why the plan must not be applied (a resource it would touch is not the suite's).
    refusals: list[str] = field(default_factory=list)

    def add(self, change: Change) -> Change:
        self.changes.append(change)
        return change

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.changes_anything and not c.applied]

    @property
    def has_changes(self) -> bool:
        return bool(self.pending)

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "unchanged": 0}
        for c in self.changes:
            out[c.action] += 1
        return out

    def summary(self) -> str:
        if not any(c.changes_anything for c in self.changes):
            return f"{self.step}: no changes ({len(self.changes)} resources up to date)"
        n = self.counts()
        return (f"{self.step}: {n['create']} to create, {n['update']} to update, "
                f"{n['delete']} to delete, {n['unchanged']} unchanged")

    def render(self) -> str:
        return "\n".join([self.summary(), *(c.render() for c in self.changes)])

    def __str__(self) -> str:
        return self.render()

    def _repr_markdown_(self) -> str:
        return "```\n" + self.render() + "\n```"

    def apply(self) -> Plan:
        """Carry out the pending changes in order; stops at the first failure (re-run converges).

        A plan with refusals is never applied: it would touch a resource the suite does not own.
        """
        if self.refusals:
            from runbook_lib.core.errors import RunbookError

            raise RunbookError(f"{self.step} was not applied: " + "; ".join(self.refusals))
        for change in self.pending:
            if change.apply_fn is not None:
                change.apply_fn()
            change.applied = True
        return self


def merge_plans(step: str, *plans: Plan) -> Plan:
    """One plan made of several, in order."""
    merged = Plan(step)
    for p in plans:
        merged.changes.extend(p.changes)
    return merged


def diff_values(current: Any, desired: Any, path: str = "") -> list[str]:
    """Readable lines for every difference between two JSON-like values.

    Only keys present in ``desired`` are compared, because AWS adds defaults of its own that the
    suite does not manage.
    """
    if isinstance(desired, Mapping) and isinstance(current, Mapping):
        lines: list[str] = []
        for key in desired:
            sub = f"{path}.{key}" if path else str(key)
            if key not in current:
                lines.append(f"{sub}: (absent) -> {_short(desired[key])}")
            else:
                lines.extend(diff_values(current[key], desired[key], sub))
        return lines
    if isinstance(desired, list) and isinstance(current, list) and len(desired) == len(current):
        lines = []
        for i, (c, d) in enumerate(zip(current, desired, strict=True)):
            lines.extend(diff_values(c, d, f"{path}[{i}]"))
        return lines
    if _normalise(current) != _normalise(desired):
        return [f"{path or 'value'}: {_short(current)} -> {_short(desired)}"]
    return []


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        # Policy documents come back as JSON strings (sometimes URL-encoded by IAM).
        stripped = value.strip()
        if stripped.startswith(("{", "[")):
            try:
                return json.loads(stripped)
            except ValueError:
                return value
    return value


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def create(resource: str, apply_fn: Callable[[], Any], details: list[str] | None = None) -> Change:
    return Change(resource, "create", details or [], apply_fn)


def update(resource: str, diff: list[str], apply_fn: Callable[[], Any], before: Any = None,
           after: Any = None) -> Change:
    return Change(resource, "update", diff, apply_fn, before=before, after=after)


def unchanged(resource: str) -> Change:
    return Change(resource, "unchanged")


def converge(resource: str, current: Any, desired: Any, create_fn: Callable[[], Any],
             update_fn: Callable[[], Any], details: list[str] | None = None) -> Change:
    """The usual create-or-update decision for a resource described as ``current``."""
    if current is None:
        return create(resource, create_fn, details)
    diff = diff_values(current, desired)
    return update(resource, diff, update_fn, current, desired) if diff else unchanged(resource)
