"""A plan shown like a code review: a one-line summary, changes grouped by resource, and a
unified diff for whole documents (policies, buildspecs).

The text form is exactly :meth:`Plan.render` (what headless runs always printed); the HTML form
groups an aspect change ("s3 bucket X versioning") under its resource ("s3 bucket X"), badges
each change with the house palette, and folds long details.
"""

from __future__ import annotations

import difflib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook_lib.core.errors import NotOwnedError
from runbook_lib.core.plan import Change, Plan
from runbook_lib.core.redact import MASK, looks_like_secret_value, looks_secret, mask
from runbook_lib.views import display


@dataclass
class ResourceGroup:
    """A resource and the changes to it and its aspects, in plan order."""

    resource: str
    changes: list[Change] = field(default_factory=list)

    def aspect(self, change: Change) -> str:
        rest = change.resource[len(self.resource):].strip()
        return rest or "(the resource itself)"


def group_changes(plan: Plan) -> list[ResourceGroup]:
    """Consecutive changes whose resource extends the group's resource join that group."""
    groups: list[ResourceGroup] = []
    for change in plan.changes:
        current = groups[-1] if groups else None
        if current and change.resource.startswith(current.resource + " "):
            current.changes.append(change)
        else:
            groups.append(ResourceGroup(change.resource, [change]))
    return groups


def summary_line(plan: Plan) -> str:
    """"3 to create, 1 to update, 12 unchanged": only the counts that are not zero."""
    counts = plan.counts()
    parts = [f"{counts[k]} to {k}" for k in ("create", "update", "delete") if counts[k]]
    parts.append(f"{counts['unchanged']} unchanged")
    return ", ".join(parts)


def redacted(value: Any) -> Any:
    """The document with every value that looks secret masked: a plaintext variable named like
    a secret (``{"name": "API_KEY", "value": ...}``) or a credential-shaped string."""
    if isinstance(value, Mapping):
        out = {k: redacted(v) for k, v in value.items()}
        name, val = value.get("name", value.get("Name")), value.get("value", value.get("Value"))
        plaintext = str(value.get("type", value.get("Type", "PLAINTEXT"))).upper() == "PLAINTEXT"
        if isinstance(name, str) and isinstance(val, str) and plaintext and looks_secret(name, val):
            out["value" if "value" in value else "Value"] = MASK
        return out
    if isinstance(value, list):
        return [redacted(v) for v in value]
    if isinstance(value, str) and looks_like_secret_value(value):
        return MASK
    return value


def secrets_in(value: Any, found: set[str] | None = None) -> set[str]:
    """The raw values :func:`redacted` would mask, to mask them in diff lines too."""
    found = set() if found is None else found
    if isinstance(value, Mapping):
        masked = redacted(value)
        found.update(str(v) for k, v in value.items()
                     if isinstance(v, str) and masked.get(k) == MASK and v != MASK)
        for v in value.values():
            secrets_in(v, found)
    elif isinstance(value, list):
        for v in value:
            secrets_in(v, found)
    return found


def masked_lines(change: Change) -> list[str]:
    """The change's diff lines with any secret from its documents masked."""
    secrets = secrets_in(change.before) | secrets_in(change.after)
    return [mask(line, secrets) for line in change.diff] if secrets else list(change.diff)


def document_text(value: Any) -> list[str]:
    """A document as lines to diff: strings as they are (buildspecs), the rest as sorted JSON,
    secret-looking values masked."""
    value = redacted(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith(("{", "[")):
            try:
                value = json.loads(stripped)
            except ValueError:
                return value.splitlines()
        else:
            return value.splitlines()
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


def unified_diff(change: Change) -> str:
    """The whole-document diff of an update, or '' when the step gave no documents."""
    if change.action != "update" or change.before is None or change.after is None:
        return ""
    lines = difflib.unified_diff(document_text(change.before), document_text(change.after),
                                 "current", "desired", lineterm="", n=2)
    return "\n".join(lines)


def _diff_html(diff: str) -> str:
    colours = {"+": "#E6F5EF", "-": "#FBEAE0", "@": "#EEF6FC"}
    rows = []
    for line in diff.splitlines():
        bg = colours.get(line[:1], "") if not line.startswith(("+++", "---")) else ""
        style = f" style='background:{bg}'" if bg else ""
        rows.append(f"<span{style}>{html.escape(line)}</span>")
    return ("<details><summary>unified diff</summary><pre style='margin:0'>"
            + "\n".join(rows) + "</pre></details>")


def _change_row(group: ResourceGroup, change: Change, links: Mapping[str, str]) -> str:
    details = display.fold("\n".join(masked_lines(change))) if change.diff else ""
    diff = unified_diff(change)
    if diff:
        details += _diff_html(diff)
    return (f"<tr><td>{display.badge(change.action)}</td><td>{html.escape(group.aspect(change))}"
            f"</td><td>{details}</td></tr>")


def _group_html(group: ResourceGroup, links: Mapping[str, str]) -> str:
    name = display.link_names(html.escape(group.resource), links)
    rows = "".join(_change_row(group, c, links) for c in group.changes)
    return f"<tr><th colspan='3'>{name}</th></tr>{rows}"


def apply_blocked_reason(plan: Plan) -> str:
    """Why the Apply button stays disabled, or '' when applying is allowed."""
    if plan.refusals:
        return "; ".join(plan.refusals)
    return ""


class PlanView(display.RichDisplay):
    """A plan for review; text is :meth:`Plan.render`, HTML is grouped with diffs."""

    def __init__(self, plan: Plan, links: Mapping[str, str] | None = None) -> None:
        self.plan = plan
        self.links = dict(links or {})

    def text(self) -> str:
        secrets = set().union(*(secrets_in(c.before) | secrets_in(c.after)
                                for c in self.plan.changes))
        text = mask(self.plan.render(), secrets)
        if self.plan.refusals:
            text += "\n" + "\n".join(f"refused: {r}" for r in self.plan.refusals)
        return text

    def html(self) -> str:
        head = (f"<p><b>{html.escape(self.plan.step)}</b>: "
                f"{html.escape(summary_line(self.plan))}</p>")
        refusals = "".join(f"<p>{display.badge('not owned')} {html.escape(r)}</p>"
                           for r in self.plan.refusals)
        body = "".join(_group_html(g, self.links) for g in group_changes(self.plan))
        return (f"{display._CSS}<div class='runbook-plan'>{head}{refusals}"
                f"<table class='runbook-view'><tbody>{body}</tbody></table></div>")


def plan_or_refusal(step: str, plan_fn, *args: Any) -> Plan:
    """The step's plan, or an empty plan carrying the refusal when a resource it would touch
    exists without the suite's ownership tags (so the view can say why Apply is disabled)."""
    try:
        return plan_fn(*args)
    except NotOwnedError as err:
        return Plan(step, refusals=[str(err)])
