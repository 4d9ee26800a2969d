"""Run notebooks headless with papermill, render them to HTML, and keep the operator informed.

One process runs the whole suite through papermill's Python API. On failure the executed
notebook is kept with the failing cell marked (papermill does that), the cell's error is
printed, and the run stops.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from runbook_lib.app import kernels, outcome, parameters, suite
from runbook_lib.app.html_pages import HtmlWriter, render_html
from runbook_lib.app.run_target import target_environment
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params
from runbook_lib.views import waiting

REPO_ROOT = suite.NOTEBOOK_DIR.parent


@dataclass
class NotebookResult:
    name: str
    path: Path
    html_path: Path | None
    ok: bool
    seconds: float
    error: str = ""


@dataclass
class RunResult:
    out_dir: Path
    notebooks: list[NotebookResult] = field(default_factory=list)
    outcome: Any = None  # outcome.RunOutcome of the pipeline run notebook 09 followed

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.notebooks)

    @property
    def exit_code(self) -> int:
        """1 when a notebook failed (the suite could not do its part); else the followed
        pipeline run's code: 0 succeeded or waiting for a human, 3 failed."""
        if not self.ok:
            return outcome.EXIT_ERROR
        return self.outcome.exit_code if self.outcome is not None else outcome.EXIT_OK


def load_parameters(params_file: Path | None, pairs: list[str], target: str = "local",
                    base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parameters remembered in runbook.toml (``base``), then a YAML file, then ``key=value``
    pairs, checked for the whole suite.

    Nothing runs and nothing is written before this returns: see :mod:`runbook_lib.app.parameters`.
    """
    return parameters.load(params_file, pairs, target, base)


def command_parameters(args: Any) -> dict[str, Any]:
    """A command's parameters: runbook.toml's (``args.project``, when the command read it),
    then ``-f``, then ``-p``; checked for the whole suite."""
    project = getattr(args, "project", None)
    return load_parameters(args.params_file, args.param, target=args.target,
                           base=project.parameters if project else None)


def new_run_dir(base: Path | None = None) -> Path:
    """A new folder ``out/<date>-<time>`` (``-2``, ``-3`` ... for runs started in the same
    second), made by this call alone: two runs starting together never share one."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    parent = private_folder(base or REPO_ROOT / "out")
    n = 1
    while True:
        out = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            out.mkdir(mode=0o700)  # fails if another run made it first
        except FileExistsError:
            n += 1
            continue
        out.chmod(0o700)  # mkdir's mode passes through the umask
        return out


def private_folder(folder: Path) -> Path:
    """A folder only the operator can read (0700), parents included when this creates them:
    executed notebooks hold account ids, build logs and parameters."""
    missing = []
    path = Path(folder).absolute()
    while not path.exists():
        missing.append(path)
        path = path.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode passes through the umask
    return Path(folder)


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files written meanwhile (notebooks, HTML, kernels' files) are the operator's alone."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def notebook_text(path: Path) -> str:
    """What an executed notebook said, as text: its printed lines and the plain-text form of
    what it displayed (a plan, a table), without the Next link; for a command to repeat."""
    import nbformat

    parts = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = (output.get("text", "") if output.output_type == "stream"
                    else output.get("data", {}).get("text/plain", ""))
            if text and not text.startswith("next: "):
                parts.append(text.rstrip("\n"))
    return "\n".join(parts)


def ending_line(title: str, nb_result: NotebookResult, progress_lines: int) -> str:
    """What ends a notebook's line: ``ok (12.3s)`` after its open title, or the title again
    when "still waiting" lines came in between (each of them on a line of its own)."""
    said = ("ok" if nb_result.ok else "FAILED") + f" ({nb_result.seconds:.1f}s)"
    return f"{title} {said}" if progress_lines else said


# Kernels started ahead of their notebook: two, so that a kernel warming a heavy import
# (matplotlib) has the time of two notebooks to do it before its own starts.
AHEAD = 2
# From this many notebooks on, kernels are forked from one process that imported IPython and the
# library once (kernels.py): its start costs about what one kernel's does.
FORK_FROM = 3


def run_suite(names: list[str], parameters: dict[str, Any], target: str = "local",
              out_dir: Path | None = None, report: bool = False) -> RunResult:
    """Execute notebooks in order; stop at the first failure. Writes HTML and an index.

    Each notebook's kernel is started while the ones before run (:mod:`.kernels`), and its HTML
    is written while the next one runs: a notebook's time is its own kernel's and cells'."""
    out = private_folder(Path(out_dir)) if out_dir else new_run_dir()
    result = RunResult(out)
    notebooks = [suite.by_name(n) for n in names]
    paths = [nb.path for nb in notebooks] + ([REPORT_NOTEBOOK] if report else [])
    with private_files(), target_environment(target) as endpoint, \
            kernels.KernelRelay(forked=len(paths) >= FORK_FROM) as relay, \
            HtmlWriter() as html_writer:
        where = f"local AWS at {endpoint}" if endpoint else f"target {target}"
        count = f"{len(notebooks)} notebook{'' if len(notebooks) == 1 else 's'}"
        print(f"running {count} against {where}", flush=True)
        for i, nb in enumerate(notebooks, 1):
            title = f"[{i}/{len(notebooks)}] {nb.name:<14} {nb.title} ..."
            print(title, end=" ", flush=True)
            with waiting.for_terminal(f"[{i}/{len(notebooks)}] {nb.name}") as shown:
                nb_result = execute_one(nb, parameters, out, relay, paths[i:i + AHEAD],
                                        html_writer)
            result.notebooks.append(nb_result)
            print(ending_line(title, nb_result, shown.lines), flush=True)
            if not nb_result.ok:
                print(f"\n{nb_result.error}\n\nthe executed notebook, with the failing cell "
                      f"marked, is {nb_result.path}", file=sys.stderr)
                break
        if report and result.ok:
            result.notebooks.append(_health_report(parameters, target, out, relay))
        if result.ok and "run" in names:
            result.outcome = _followed_run(parameters)
    with private_files():
        write_index(result)
    print(f"\nexecuted notebooks and HTML: {out}\nopen {out / 'index.html'}", flush=True)
    if result.outcome is not None:
        print(f"\n{result.outcome.text()}", flush=True)
    return result


def _followed_run(parameters: dict[str, Any]) -> outcome.RunOutcome | None:
    """The outcome of the pipeline run notebook 09 followed; an error reading it is the
    suite's own (exit 1), said in one line."""
    from botocore.exceptions import BotoCoreError, ClientError

    from runbook_lib.core.errors import RunbookError
    from runbook_lib.core.session import AwsSession

    params = Params.from_mapping(parameters)
    try:
        found = outcome.followed_run(AwsSession.from_params(params), params)
        if found is not None and parameters.get("push_sample_history"):
            found.rehearsed()
        return found
    except (RunbookError, BotoCoreError, ClientError) as err:
        print(f"runbook: could not read how the pipeline run ended: {err}", file=sys.stderr)
        return outcome.RunOutcome("", "", "unknown", [], outcome.EXIT_ERROR)


class _SharedParameterFilter(logging.Filter):
    """Every notebook receives every shared parameter, so that names derived from them agree
    across the suite; papermill's warning about those it does not declare is noise. Unknown
    names that are not shared parameters still warn."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Passed unknown parameter: "):
            name = message.rsplit(": ", 1)[-1]
            return name not in SHARED_PARAMETERS
        return True


SHARED_PARAMETERS = {f.name for f in fields(Params)} | {"apply", "push_sample_history"}
logging.getLogger("papermill").addFilter(_SharedParameterFilter())


def _health_report(parameters: dict[str, Any], target: str, out: Path,
                   relay: kernels.KernelRelay | None = None) -> NotebookResult:
    """The pipeline health report of the run's pipeline, as the run's last page."""
    from runbook_lib.core.errors import NotebookRunError

    params = Params.from_mapping(parameters)
    start = time.monotonic()
    title = "[report] pipeline health ..."
    print(title, end=" ", flush=True)
    html = out / "pipeline_health.html"
    ok, error = True, ""
    with waiting.for_terminal("[report] pipeline health") as shown:
        try:
            run_report(params.names().pipeline, html, target=target, relay=relay)
        except NotebookRunError as err:
            ok, error = False, str(err)
    result = NotebookResult("health report", html.with_suffix(".ipynb"), html if ok else None,
                            ok, time.monotonic() - start, error)
    print(ending_line(title, result, shown.lines), flush=True)
    if error:
        print(f"\n{error}", file=sys.stderr)
    return result


def execute_one(nb: suite.Notebook, parameters: dict[str, Any], out: Path,
                relay: kernels.KernelRelay | None = None, following: list[Path] | None = None,
                html_writer: HtmlWriter | None = None) -> NotebookResult:
    """Run one notebook with papermill. With a ``relay`` its kernel comes from there, and the
    kernels of the notebooks ``following`` it are started meanwhile; with an ``html_writer`` the
    HTML is written in the background, else before this returns."""
    import papermill as pm

    output = out / nb.filename
    start = time.monotonic()
    error = ""
    km = relay.take(nb.path) if relay else None
    try:
        if relay and following:
            relay.prepare(following)
        execute_notebook(nb.path, output, parameters, km)
        ok = True
    except pm.PapermillExecutionError as err:
        ok = False
        error = f"cell {err.exec_count} failed: {err.ename}: {err.evalue}"
    except RuntimeError as err:  # the kernel did not start or died: no cell to blame
        ok = False
        error = f"the notebook could not run: {err}"
    finally:
        if km is not None and relay is not None:
            relay.retire(km)
    seconds = time.monotonic() - start
    result = NotebookResult(nb.name, output, None, ok, seconds, error)
    if output.exists():
        if html_writer is not None:
            html_writer.write(result)
        else:
            result.html_path = render_html(output)
    return result


def execute_notebook(notebook: Path, output: Path, parameters: dict[str, Any],
                     km: Any = None) -> None:
    """Papermill on ``notebook``, in its own folder; with ``km``, on that started kernel."""
    import papermill as pm

    from runbook_lib.app import notebook_saves

    pm.execute_notebook(
        str(notebook), str(output), parameters=parameters, kernel_name="python3",
        engine_name=notebook_saves.ENGINE_NAME,
        progress_bar=False, cwd=str(notebook.parent), log_output=False,
        kernel_manager_class=kernels.kernel_manager_class(), start_timeout=180,
        **({"km": km} if km is not None else {}),
    )


def write_index(result: RunResult) -> Path:
    rows = []
    for n in result.notebooks:
        link = n.html_path.name if n.html_path else n.path.name
        status = "ok" if n.ok else f"FAILED: {html.escape(n.error)}"
        rows.append(f"<tr><td><a href='{html.escape(link)}'>{html.escape(n.name)}</a></td>"
                    f"<td>{status}</td><td>{n.seconds:.1f} s</td>"
                    f"<td><a href='{html.escape(n.path.name)}'>notebook</a></td></tr>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>runbook run</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;"
        "text-align:left}</style></head><body>"
        f"<h1>Runbook run {html.escape(result.out_dir.name)}</h1>"
        f"<p>{'All notebooks succeeded.' if result.ok else 'The run stopped at a failure.'}</p>"
        "<table><tr><th>notebook</th><th>status</th><th>time</th><th>source</th></tr>"
        + "".join(rows) + "</table></body></html>"
    )
    index = result.out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# -- scheduled reports ---------------------------------------------------------------------------


REPORT_NOTEBOOK = suite.NOTEBOOK_DIR / "reports" / "pipeline_health.ipynb"
if not REPORT_NOTEBOOK.exists():  # installed from a wheel: the copy packed beside the templates
    REPORT_NOTEBOOK = Path(__file__).resolve().parents[1] / "templates" / "reports" / (
        REPORT_NOTEBOOK.name)


def run_report(pipeline: str, out_file: Path, days: int = 30, target: str = "local",
               notebook: Path = REPORT_NOTEBOOK,
               relay: kernels.KernelRelay | None = None) -> Path:
    """Execute the health report notebook with papermill, then write it as HTML with the code
    hidden (figures are embedded PNGs). The executed notebook is kept beside the HTML.

    Raises ``NotebookRunError`` naming the cause (pipeline missing, no executions in the window,
    an AWS error) when the report cannot be produced.
    """
    import shutil

    import papermill as pm

    from runbook_lib.core.errors import NotebookRunError

    out_file = Path(out_file)
    if out_file.suffix.lower() not in (".html", ".htm"):
        raise ParameterError("--out", str(out_file), "must be an .html file", "health.html")
    if days < 1:
        raise ParameterError("--days", str(days), "must be a whole number of days, 1 or more",
                             "7")
    private_folder(out_file.parent)
    executed = out_file.with_suffix(".ipynb")
    # The report only reads: no source connection to name on target aws (an S3 source needs none).
    parameters = {"pipeline": pipeline, "days": days, "target": target, "source_provider": "s3"}
    with private_files(), target_environment(target):
        km = relay.take(notebook) if relay else None  # a kernel started ahead, by runbook run
        try:
            execute_notebook(notebook, executed, parameters, km)
        except pm.PapermillExecutionError as err:
            raise NotebookRunError(f"cannot produce the health report of {pipeline}: "
                                   f"{err.ename}: {err.evalue} (executed notebook: "
                                   f"{executed})") from err
        except RuntimeError as err:
            raise NotebookRunError(f"cannot produce the health report of {pipeline}: the "
                                   f"report notebook could not run: {err}") from err
        finally:
            if km is not None and relay is not None:
                relay.retire(km)
    with private_files():
        rendered = render_html(executed, hide_code=True)
    if rendered != out_file:
        shutil.move(rendered, out_file)
    return out_file
