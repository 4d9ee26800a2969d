"""The ``phases`` section: phase names, commands, ``finally``, ``on-failure``, runtimes.

Rules and their sources (buildspec reference anchors ``#build-spec.phases...``):
the four phase names are fixed ("You cannot change these build phase names", reference
example and the getting-started buildspec page); ``commands`` is "Optional" in ``install``
and "Required ... if <phase> is specified" elsewhere; ``runtime-versions`` lives in
``install`` only. ``commands`` may be one string, as in AWS's own CodePipeline variables
example (``commands: 'export MY_VAR="some value"'``). The reference does not say what happens
to an empty ``commands:``, a phase with only ``finally`` or an empty phase: those are
accepted with a warning, and the phase runs what it has.
"""

from __future__ import annotations

import re

from yaml.nodes import Node

from runbook_lib.buildspec.model import (
    DEFAULT_RETRY_COUNT,
    DEFAULT_RETRY_REGEX,
    MAX_RETRY_COUNT,
    PHASE_KEYS,
    PHASE_NAMES,
    OnFailure,
    PathKey,
    Phase,
)
from runbook_lib.buildspec.reader import NodeReader, dotted, suggest
from runbook_lib.buildspec.yaml_lines import is_null

_ON_FAILURE_RE = re.compile(r"^RETRY(?:-(?P<count>\d+))?(?:-(?P<regex>.+))?$", re.S)


class PhaseReader(NodeReader):
    """Reads ``phases`` and ``run-as``."""

    def phases(self, node: Node) -> tuple[Phase, ...]:
        if is_null(node):
            self.fail(node, "phases is empty", "add a 'build:' phase with 'commands:'")
        keys = self.mapping(node, ("phases",))
        for name in keys:
            if name not in PHASE_NAMES:
                self.fail(self.lines[("phases", name)], f"unknown phase '{name}': the phases "
                          f"are {', '.join(PHASE_NAMES)} and cannot be renamed",
                          suggest(name, PHASE_NAMES))
        if not keys:
            self.fail(node, "phases is empty", "add a 'build:' phase with 'commands:'")
        return tuple(self.phase(name, keys[name]) for name in PHASE_NAMES if name in keys)

    def phase(self, name: str, node: Node) -> Phase:
        path: PathKey = ("phases", name)
        if is_null(node):
            self.warn(node, "empty-phase", f"phase {name} is empty: it runs nothing",
                      f"add 'commands:' under {name}, or remove it")
            return Phase(name)
        keys = self.mapping(node, path, PHASE_KEYS)
        if "runtime-versions" in keys and name != "install":
            self.fail(self.lines[(*path, "runtime-versions")],
                      f"runtime-versions is only allowed in the install phase, not {name}",
                      "move runtime-versions under phases.install")
        self._check_commands_present(name, keys, node)
        return Phase(
            name=name,
            commands=self.strings(keys["commands"], (*path, "commands"), "commands")
            if "commands" in keys else (),
            finally_commands=self.strings(keys["finally"], (*path, "finally"), "commands")
            if "finally" in keys else (),
            run_as=self.run_as(keys["run-as"], (*path, "run-as")) if "run-as" in keys else None,
            on_failure=self.on_failure(keys["on-failure"], (*path, "on-failure"))
            if "on-failure" in keys else OnFailure(),
            runtime_versions=self.runtimes(keys["runtime-versions"], (*path, "runtime-versions"))
            if "runtime-versions" in keys else {},
        )

    def _check_commands_present(self, name: str, keys: dict[str, Node], node: Node) -> None:
        if "commands" in keys or name == "install" and "runtime-versions" in keys:
            return
        if "finally" in keys:
            self.warn(node, "finally-only", f"phase {name} has 'finally' but no 'commands'",
                      f"add 'commands:' under {name}, or move the commands there")
            return
        self.missing(keys, "commands", node, ("phases", name), f"phase {name} needs "
                     "'commands'", f"add 'commands:' under {name} with one '- command' line")

    def run_as(self, node: Node, path: PathKey) -> str:
        value = self.text(node, path, "a Linux user name").strip()
        if not value or any(c.isspace() for c in value):
            self.fail(node, f"{dotted(path)} must be one Linux user name",
                      "write a user name such as 'codebuild-user'")
        return value

    def on_failure(self, node: Node, path: PathKey) -> OnFailure:
        value = self.text(node, path, "ABORT, CONTINUE or RETRY").strip()
        if value in ("ABORT", "CONTINUE"):
            return OnFailure(value)
        match = _ON_FAILURE_RE.match(value)
        if not match:
            self.fail(node, f"{dotted(path)} must be ABORT, CONTINUE, RETRY, RETRY-count, "
                      f"RETRY-regex or RETRY-count-regex, not '{value}'",
                      suggest(value, ("ABORT", "CONTINUE", "RETRY")))
        count = int(match["count"]) if match["count"] else DEFAULT_RETRY_COUNT
        if count > MAX_RETRY_COUNT:
            self.fail(node, f"{dotted(path)} retries {count} times; the most is "
                      f"{MAX_RETRY_COUNT}", f"use RETRY-{MAX_RETRY_COUNT} or fewer")
        regex = match["regex"] or DEFAULT_RETRY_REGEX
        try:
            re.compile(regex)
        except re.error as err:
            self.fail(node, f"{dotted(path)} has an invalid regular expression ({err})",
                      "fix the expression after RETRY-")
        return OnFailure("RETRY", count, regex)

    def runtimes(self, node: Node, path: PathKey) -> dict[str, str]:
        # ref: #runtime-versions-in-build-spec "at least one runtime must be included".
        keys = self.mapping(node, path) if not is_null(node) else {}
        if not keys:
            self.fail(node, "runtime-versions is empty", "add a runtime such as 'nodejs: 20'")
        return {name: self.text(value, (*path, name), "a version such as 20 or latest")
                for name, value in keys.items()}
