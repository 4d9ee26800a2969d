"""The ``batch`` section: build-list, build-graph and build-matrix, as CodeBuild starts them.

Source: the batch build buildspec reference (batch-build-buildspec.html): ``fast-fail``;
tasks of a list or graph with a required ``identifier`` and optional ``buildspec``,
``debug-session``, ``env`` (compute-type, image, privileged-mode, type, variables),
``ignore-failure`` and, in a graph, ``depend-on``; a matrix with ``static`` settings and
``dynamic`` lists of buildspecs, images, compute types and variable values, one build per
combination. A batch buildspec needs no ``phases`` when its tasks name their own buildspecs.
A graph whose ``depend-on`` names an unknown task or forms a cycle could never run, so it is
refused; more than one build type in one section is refused too (the reference lists them
as alternatives).
"""

from __future__ import annotations

import itertools
import re

from yaml.nodes import Node, SequenceNode

from runbook_lib.buildspec.model import Batch, BatchTask, PathKey
from runbook_lib.buildspec.reader import NodeReader, dotted
from runbook_lib.buildspec.yaml_lines import is_null

BATCH_KEYS = ("fast-fail", "build-list", "build-graph", "build-matrix")
BATCH_KINDS = BATCH_KEYS[1:]
TASK_KEYS = ("identifier", "buildspec", "debug-session", "env", "ignore-failure", "depend-on")
TASK_ENV_KEYS = ("compute-type", "image", "privileged-mode", "type", "variables")
MATRIX_KEYS = ("static", "dynamic")
DYNAMIC_KEYS = ("buildspec", "env")
DYNAMIC_ENV_KEYS = ("compute-type", "image", "variables")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_]+$")


def read_batch(reader: NodeReader, node: Node) -> Batch:
    """Validate ``batch`` and return its tasks (a matrix expanded)."""
    keys = reader.mapping(node, ("batch",), BATCH_KEYS)
    kinds = [kind for kind in BATCH_KINDS if kind in keys]
    if len(kinds) != 1:
        reader.fail(node, "batch must define exactly one of build-list, build-graph and "
                    f"build-matrix{'' if not kinds else ', not ' + ' and '.join(kinds)}",
                    "keep one build type")
    kind = kinds[0]
    path: PathKey = ("batch", kind)
    if kind == "build-matrix":
        tasks = _matrix(reader, keys[kind], path)
    else:
        tasks = _task_list(reader, keys[kind], path, graph=kind == "build-graph")
    fast_fail = reader.flag(keys["fast-fail"], ("batch", "fast-fail")) \
        if "fast-fail" in keys else False
    return Batch(kind, tasks, fast_fail)


def _task_list(reader: NodeReader, node: Node, path: PathKey, graph: bool
               ) -> tuple[BatchTask, ...]:
    if not isinstance(node, SequenceNode) or not node.value:
        reader.fail(node, f"{dotted(path)} must be a list of tasks",
                    "write each task as '- identifier: name' with its settings under it")
    tasks = [_task(reader, item, (*path, index), graph) for index, item in enumerate(node.value)]
    seen: dict[str, int] = {}
    for index, task in enumerate(tasks):
        if task.identifier in seen:
            reader.fail(reader.lines[(*path, index, "identifier")], f"task identifier "
                        f"'{task.identifier}' is used twice in {dotted(path)}",
                        "give every task its own identifier")
        seen[task.identifier] = index
    if graph:
        _check_graph(reader, tasks, path)
    return tuple(tasks)


def _task(reader: NodeReader, node: Node, path: PathKey, graph: bool) -> BatchTask:
    keys = reader.mapping(node, path, TASK_KEYS if graph else TASK_KEYS[:-1])
    identifier = reader.text(reader.require(keys, "identifier", node, path),
                             (*path, "identifier"), "a task identifier")
    if not _IDENTIFIER_RE.match(identifier):
        reader.fail(keys["identifier"], f"{dotted(path)}.identifier '{identifier}' is not "
                    "valid", "use letters, digits and '_'")
    variables, environment = _task_env(reader, keys.get("env"), (*path, "env"))
    return BatchTask(
        identifier=identifier,
        buildspec=reader.text(keys["buildspec"], (*path, "buildspec"))
        if "buildspec" in keys else None,
        variables=variables,
        environment=environment,
        ignore_failure=reader.flag(keys["ignore-failure"], (*path, "ignore-failure"))
        if "ignore-failure" in keys else False,
        depend_on=reader.strings(keys["depend-on"], (*path, "depend-on"), "task identifiers")
        if "depend-on" in keys else (),
        debug_session=reader.flag(keys["debug-session"], (*path, "debug-session"))
        if "debug-session" in keys else False,
    )


def _task_env(reader: NodeReader, node: Node | None, path: PathKey
              ) -> tuple[dict[str, str], dict[str, str]]:
    if node is None or is_null(node):
        return {}, {}
    keys = reader.mapping(node, path, TASK_ENV_KEYS)
    variables = {name: reader.text(value, (*path, "variables", name))
                 for name, value in reader.mapping(keys["variables"], (*path, "variables"))
                 .items()} if "variables" in keys else {}
    environment = {key: reader.text(value, (*path, key)) for key, value in keys.items()
                   if key != "variables"}
    return variables, environment


def _check_graph(reader: NodeReader, tasks: list[BatchTask], path: PathKey) -> None:
    known = {task.identifier: index for index, task in enumerate(tasks)}
    for index, task in enumerate(tasks):
        for position, name in enumerate(task.depend_on):
            if name not in known:
                reader.fail(reader.lines.get((*path, index, "depend-on", position)),
                            f"task '{task.identifier}' depends on '{name}', which is not a "
                            f"task of {dotted(path)}", "name one of: " + ", ".join(known))
    done: set[str] = set()
    for _round in tasks:
        ready = [t.identifier for t in tasks if t.identifier not in done
                 and set(t.depend_on) <= done]
        done.update(ready)
    stuck = [t for t in tasks if t.identifier not in done]
    if stuck:
        reader.fail(reader.lines.get((*path, known[stuck[0].identifier], "depend-on")),
                    "build-graph has a cycle: " + ", ".join(t.identifier for t in stuck)
                    + " wait for each other", "remove one depend-on entry of the cycle")


def _matrix(reader: NodeReader, node: Node, path: PathKey) -> tuple[BatchTask, ...]:
    keys = reader.mapping(node, path, MATRIX_KEYS)
    static = _task_env(reader, None, path)
    ignore_failure = False
    if "static" in keys and not is_null(keys["static"]):
        static_keys = reader.mapping(keys["static"], (*path, "static"),
                                     ("ignore-failure", "env", "debug-session"))
        if "ignore-failure" in static_keys:
            ignore_failure = reader.flag(static_keys["ignore-failure"],
                                         (*path, "static", "ignore-failure"))
        static = _task_env(reader, static_keys.get("env"), (*path, "static", "env"))
    axes = _dynamic_axes(reader, reader.require(keys, "dynamic", node, path),
                         (*path, "dynamic"))
    tasks = []
    for number, combination in enumerate(itertools.product(*[values for _, values in axes])):
        chosen = dict(zip([name for name, _ in axes], combination, strict=True))
        variables = {**static[0], **{k[4:]: v for k, v in chosen.items() if k.startswith("var:")}}
        environment = {**static[1], **{k: v for k, v in chosen.items()
                                       if k in DYNAMIC_ENV_KEYS}}
        tasks.append(BatchTask(f"build{number + 1}", chosen.get("buildspec"), variables,
                               environment, ignore_failure))
    return tuple(tasks)


def _dynamic_axes(reader: NodeReader, node: Node, path: PathKey
                  ) -> list[tuple[str, tuple[str, ...]]]:
    """(axis name, values) pairs: buildspec, compute-type, image, var:NAME."""
    keys = reader.mapping(node, path, DYNAMIC_KEYS)
    axes: list[tuple[str, tuple[str, ...]]] = []
    if "buildspec" in keys:
        axes.append(("buildspec", reader.strings(keys["buildspec"], (*path, "buildspec"),
                                                 "buildspec files", required=True)))
    env = reader.mapping(keys["env"], (*path, "env"), DYNAMIC_ENV_KEYS) if "env" in keys else {}
    for key in ("compute-type", "image"):
        if key in env:
            axes.append((key, reader.strings(env[key], (*path, "env", key), "values",
                                             required=True)))
    if "variables" in env:
        for name, values in reader.mapping(env["variables"], (*path, "env", "variables")).items():
            axes.append((f"var:{name}", reader.strings(values, (*path, "env", "variables", name),
                                                       "values", required=True)))
    if not axes:
        reader.fail(node, f"{dotted(path)} varies nothing", "list buildspec files, images, "
                    "compute types or variable values to build with")
    return axes
