"""Record a triage-corpus log: run a folder's buildspec phases as the local runner does and
write what CodeBuild's CloudWatch log would hold (agent ``[Container]`` lines around the raw
output of each command), stopping the build phases at the first failing command.

Used by hand to grow tests/fixtures/triage_corpus/ (the logs are committed, this is not run by
the tests)::

    python tests/triage_corpus_record.py SRC_DIR OUT.log

SRC_DIR should sit at a CodeBuild-shaped path (``/tmp/codebuild/output/src123/src``) so the
paths the tools print look like a real build's. Prints the phase context of the failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runbook_lib.local.codebuild.logs import container_line  # noqa: E402

PHASES = ("install", "pre_build", "build", "post_build")


def record(src: Path, out: Path) -> str:
    spec = yaml.safe_load((src / "buildspec.yml").read_text())
    lines = [container_line(m) for m in (
        "Running on the local AWS: image aws/codebuild/standard:7.0 is not pulled; commands "
        "run on this machine with its own tools", "Waiting for agent ping",
        "Waiting for DOWNLOAD_SOURCE", "Phase is DOWNLOAD_SOURCE", f"CODEBUILD_SRC_DIR={src}",
        f"YAML location is {src}/buildspec.yml", f"Moving to directory {src}",
        f"Phases found in YAML: {len(spec['phases'])}")]
    lines += [container_line(f" {name.upper()}: {len(body['commands'])} commands")
              for name, body in spec["phases"].items()]
    lines.append(container_line("Processing environment variables"))
    context, failed = "", False
    for name in PHASES:
        if name not in spec["phases"] or (failed and name != "post_build"):
            continue
        lines.append(container_line(f"Entering phase {name.upper()}"))
        status, message, code = "SUCCEEDED", "", ""
        for command in spec["phases"][name]["commands"]:
            lines.append(container_line(f"Running command {command}"))
            done = subprocess.run(["bash", "-c", command], cwd=src, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            lines += done.stdout.splitlines()
            if done.returncode:
                lines.append(container_line(f"Command did not exit successfully {command} "
                                            f"exit status {done.returncode}"))
                status, code = "FAILED", "COMMAND_EXECUTION_ERROR"
                message = (f"Error while executing command: {command}. Reason: exit status "
                           f"{done.returncode}")
                context, failed = message, True
                break
        lines.append(container_line(f"Phase complete: {name.upper()} State: {status}"))
        lines.append(container_line(f"Phase context status code: {code} Message: {message}"))
    out.write_text("\n".join(lines) + "\n")
    return context


if __name__ == "__main__":
    print(record(Path(sys.argv[1]).resolve(), Path(sys.argv[2])))
