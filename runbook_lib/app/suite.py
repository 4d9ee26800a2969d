"""The notebooks of the suite, in the order an operator works through them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core.errors import ParameterError

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Notebook:
    name: str
    filename: str
    title: str
    kind: str  # setup, operate, teardown, report

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / self.filename


NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("overview", "00_overview.ipynb", "Overview: setup state and next step", "setup"),
    Notebook("preflight", "01_preflight.ipynb", "Preflight: identity, names, permissions",
             "setup"),
    Notebook("bucket", "02_artifact_bucket.ipynb", "Artifact bucket", "setup"),
    Notebook("iam", "03_iam_roles.ipynb", "IAM service roles", "setup"),
    Notebook("buildspec", "04_buildspec.ipynb", "Buildspec: generate, validate, lint", "setup"),
    Notebook("build-project", "05_build_project.ipynb", "CodeBuild project", "setup"),
    Notebook("config", "06_config_and_secrets.ipynb", "Config and secrets", "setup"),
    Notebook("pipeline", "07_pipeline.ipynb", "CodePipeline", "setup"),
    Notebook("monitoring", "08_monitoring.ipynb", "Failure notifications", "setup"),
    Notebook("event-archive", "08b_event_archive.ipynb", "Event archive (fleet health)",
             "setup"),
    Notebook("run", "09_run_and_watch.ipynb", "Run and watch", "operate"),
    Notebook("build-logs", "10_build_logs.ipynb", "Build logs", "operate"),
    Notebook("approvals", "11_approvals.ipynb", "Approvals cockpit", "operate"),
    Notebook("durations", "12_stage_durations.ipynb", "Stage durations and DORA", "operate"),
    Notebook("rollback", "13_rollback.ipynb", "Rollback", "operate"),
    Notebook("teardown", "14_teardown.ipynb", "Teardown", "teardown"),
)


def by_name(name: str) -> Notebook:
    for nb in NOTEBOOKS:
        if name in (nb.name, nb.filename, nb.filename.removesuffix(".ipynb")):
            return nb
    raise ParameterError("--only", name, "must name a notebook of the suite",
                         ", ".join(n.name for n in NOTEBOOKS))


def resolve(names: list[str]) -> list[str]:
    """Names in suite order, validated."""
    wanted = {by_name(n).name for n in names}
    return [nb.name for nb in NOTEBOOKS if nb.name in wanted]


def default_run() -> list[str]:
    """What `runbook run` runs with no --only: every notebook but teardown."""
    return [nb.name for nb in NOTEBOOKS if nb.kind in ("setup", "operate") and nb.path.exists()]
