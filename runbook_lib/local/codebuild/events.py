"""CodeBuild's EventBridge events: "CodeBuild Build State Change" and "... Phase Change".

Rules written for real CodeBuild (notify on FAILED, start the next step on SUCCEEDED) match
these as they are: source ``aws.codebuild``, the detail keys AWS documents (``build-status``,
``project-name``, ``build-id``, ``current-phase``, ``additional-information``...). Putting an
event is best effort: a failed put is logged and never fails the build.
"""

from __future__ import annotations

import json
import logging
import time

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("runbook.local.builds")

SOURCE = "aws.codebuild"
STATE_CHANGE = "CodeBuild Build State Change"
PHASE_CHANGE = "CodeBuild Build Phase Change"


def put_state_change(events_client, build: dict) -> None:
    detail = {
        "build-status": build["buildStatus"],
        "project-name": build["projectName"],
        "build-id": build["arn"],
        "current-phase": build["currentPhase"],
        "current-phase-context": json.dumps(_last_contexts(build)),
        "additional-information": _additional_information(build),
        "version": "1",
    }
    _put(events_client, build, STATE_CHANGE, detail)


def put_phase_change(events_client, build: dict, phase: dict) -> None:
    detail = {
        "completed-phase": phase["phaseType"],
        "completed-phase-status": phase.get("phaseStatus", "SUCCEEDED"),
        "completed-phase-context": json.dumps(_contexts(phase)),
        "completed-phase-duration-seconds": phase.get("durationInSeconds", 0),
        "completed-phase-start": _aws_time(phase["startTime"]),
        "completed-phase-end": _aws_time(phase.get("endTime", phase["startTime"])),
        "project-name": build["projectName"],
        "build-id": build["arn"],
        "additional-information": _additional_information(build),
        "version": "1",
    }
    _put(events_client, build, PHASE_CHANGE, detail)


def _put(events_client, build: dict, detail_type: str, detail: dict) -> None:
    entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail),
             "Resources": [build["arn"]]}
    try:
        answer = events_client.put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            log.warning("event %s for %s not put: %s", detail_type, build["id"],
                        answer.get("Entries"))
    except (ClientError, BotoCoreError) as err:
        log.warning("event %s for %s not put: %s", detail_type, build["id"], err)


def _additional_information(build: dict) -> dict:
    logs = build.get("logs") or {}
    info = {
        "artifact": dict(build.get("artifacts") or {}),
        "environment": build.get("environment"),
        "timeout-in-minutes": build.get("timeoutInMinutes"),
        "build-complete": build.get("buildComplete", False),
        "build-number": build.get("buildNumber"),
        "initiator": build.get("initiator"),
        "build-start-time": _aws_time(build["startTime"]),
        "source": build.get("source"),
        "source-version": build.get("sourceVersion"),
        "logs": {"group-name": logs.get("groupName"), "stream-name": logs.get("streamName"),
                 "deep-link": logs.get("deepLink")},
        "phases": [{k: (_aws_time(v) if k in ("startTime", "endTime") else v)
                    for k, v in phase.items()} for phase in build.get("phases", [])],
    }
    if build.get("exportedEnvironmentVariables"):
        info["exported-environment-variables"] = build["exportedEnvironmentVariables"]
    return info


def _last_contexts(build: dict) -> list[str]:
    for phase in reversed(build.get("phases", [])):
        if _contexts(phase):
            return _contexts(phase)
    return []


def _contexts(phase: dict) -> list[str]:
    """A phase's contexts as the events show them; a succeeded phase's empty one is left out."""
    return [f"{c['statusCode']}: {c.get('message', '')}" for c in phase.get("contexts", [])
            if c.get("statusCode")]


def _aws_time(epoch: float) -> str:
    """``Sep 1, 2017 4:12:29 PM``, the format of CodeBuild's event details."""
    t = time.gmtime(epoch)
    return time.strftime(f"%b {t.tm_mday}, %Y {(t.tm_hour % 12) or 12}:%M:%S %p", t)
