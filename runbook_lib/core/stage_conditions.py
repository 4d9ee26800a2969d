"""CodePipeline V2 stage conditions: the declaration rules AWS documents, in one place.

Both sides need them: the suite checks a pipeline before it calls CreatePipeline (so an
operator sees the field and the rule, not an API error), and the local AWS refuses the same
declarations with ``InvalidStructureException`` as CodePipeline does. Pure data checks, no AWS.

Sources (AWS CodePipeline User Guide and API Reference):
- "Configure conditions for a stage": Entry allows Fail or Skip; On Failure Rollback (and the
  retry of "Configure automatic retry for a stage"); On Success Rollback (Fail too, API
  ``Result`` enum; CDK's example uses FAIL on onSuccess).
- API ``Condition``: 1 to 5 rules; ``FailureConditions.conditions``: fixed number of 1 item.
- "Rule reference": SKIP is offered only with the VariableCheck and LambdaInvoke rules.
- API ``FailureConditions.retryConfiguration``: automatic retry, with result RETRY and no
  conditions (a retry is not combined with onFailure conditions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BLOCKS = ("beforeEntry", "onSuccess", "onFailure")
RESULTS_BY_BLOCK = {
    "beforeEntry": ("FAIL", "SKIP"),
    "onSuccess": ("ROLLBACK", "FAIL"),
    "onFailure": ("ROLLBACK", "FAIL", "RETRY"),
}
RULE_PROVIDERS = ("CloudWatchAlarm", "DeploymentWindow", "VariableCheck", "Commands",
                  "LambdaInvoke")
SKIP_PROVIDERS = ("VariableCheck", "LambdaInvoke")
RETRY_MODES = ("FAILED_ACTIONS", "ALL_ACTIONS")
MAX_RULES = 5


@dataclass(frozen=True)
class ConditionProblem:
    """One broken rule: where (``field``), what was there, the rule, and how to fix it."""

    field: str
    value: Any
    rule: str
    fix: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.rule}; {self.fix}"


def stage_condition_problems(stage: dict[str, Any], pipeline_type: str,
                             where: str = "") -> list[ConditionProblem]:
    """Every problem with the condition blocks of one stage declaration (empty: valid)."""
    where = where or f"stages[{stage.get('name')}]"
    present = [b for b in BLOCKS if stage.get(b) is not None]
    if present and pipeline_type != "V2":
        return [ConditionProblem(f"{where}.{present[0]}", pipeline_type,
                                 "stage conditions need a V2 pipeline",
                                 "set pipelineType to V2")]
    problems: list[ConditionProblem] = []
    for block in present:
        problems += _block_problems(stage[block], block, f"{where}.{block}")
    return problems


def _block_problems(declared: Any, block: str, where: str) -> list[ConditionProblem]:
    if not isinstance(declared, dict):
        return [ConditionProblem(where, declared, "a condition block is an object",
                                 "declare {'conditions': [...]} (or result for onFailure)")]
    conditions = declared.get("conditions")
    if block == "onFailure":
        problems = _failure_problems(declared, where)
        if not conditions:
            return problems
    else:
        problems = []
    if not isinstance(conditions, list) or len(conditions) != 1:
        count = len(conditions) if isinstance(conditions, list) else conditions
        return problems + [ConditionProblem(f"{where}.conditions", count,
                                            "a block holds exactly one condition",
                                            "put all rules in one condition (1 to 5 rules)")]
    return problems + _condition_problems(conditions[0], block, f"{where}.conditions[0]")


def _failure_problems(declared: dict[str, Any], where: str) -> list[ConditionProblem]:
    result, retry = declared.get("result"), declared.get("retryConfiguration")
    problems = []
    if result is not None and result not in RESULTS_BY_BLOCK["onFailure"]:
        problems.append(ConditionProblem(f"{where}.result", result,
                                         "onFailure allows ROLLBACK, FAIL or RETRY",
                                         "choose one of those"))
    if result == "RETRY" and declared.get("conditions"):
        problems.append(ConditionProblem(f"{where}.conditions", "present",
                                         "an automatic retry is not combined with onFailure "
                                         "conditions", "drop the conditions or the retry"))
    if retry is not None and result != "RETRY":
        problems.append(ConditionProblem(f"{where}.retryConfiguration", retry,
                                         "retryConfiguration goes with result RETRY",
                                         "set result to RETRY or drop retryConfiguration"))
    mode = (retry or {}).get("retryMode") if isinstance(retry, dict) else None
    if retry is not None and mode not in RETRY_MODES:
        problems.append(ConditionProblem(f"{where}.retryConfiguration.retryMode", mode,
                                         "retryMode is FAILED_ACTIONS or ALL_ACTIONS",
                                         "choose one of those"))
    return problems


def _condition_problems(condition: Any, block: str, where: str) -> list[ConditionProblem]:
    if not isinstance(condition, dict):
        return [ConditionProblem(where, condition, "a condition is an object",
                                 "declare {'result': ..., 'rules': [...]}")]
    problems = []
    result = condition.get("result")
    # RETRY is the onFailure block's own result (with retryConfiguration), never a condition's.
    allowed = tuple(r for r in RESULTS_BY_BLOCK[block] if r != "RETRY")
    if result not in allowed:
        problems.append(ConditionProblem(f"{where}.result", result,
                                         f"{block} conditions allow {' or '.join(allowed)}",
                                         f"set result to one of {', '.join(allowed)}"))
    rules = condition.get("rules")
    if not isinstance(rules, list) or not 1 <= len(rules) <= MAX_RULES:
        count = len(rules) if isinstance(rules, list) else rules
        return problems + [ConditionProblem(f"{where}.rules", count,
                                            f"a condition holds 1 to {MAX_RULES} rules",
                                            "add a rule or split the checks")]
    names: set[str] = set()
    for index, rule in enumerate(rules):
        problems += _rule_problems(rule, f"{where}.rules[{index}]", names)
    providers = {(r.get("ruleTypeId") or {}).get("provider") for r in rules
                 if isinstance(r, dict)}
    if result == "SKIP" and not providers <= set(SKIP_PROVIDERS):
        problems.append(ConditionProblem(f"{where}.result", "SKIP",
                                         "SKIP is allowed only with VariableCheck or "
                                         "LambdaInvoke rules",
                                         "use FAIL, or check with a VariableCheck rule"))
    return problems


def _rule_problems(rule: Any, where: str, names: set[str]) -> list[ConditionProblem]:
    if not isinstance(rule, dict):
        return [ConditionProblem(where, rule, "a rule is an object",
                                 "declare {'name': ..., 'ruleTypeId': {...}}")]
    problems = []
    name = rule.get("name")
    if not isinstance(name, str) or not name or name in names:
        problems.append(ConditionProblem(f"{where}.name", name,
                                         "a rule needs a name unique in its condition",
                                         "name each rule differently"))
    names.add(str(name))
    type_id = rule.get("ruleTypeId") or {}
    if type_id.get("category") != "Rule" or type_id.get("owner", "AWS") != "AWS":
        problems.append(ConditionProblem(f"{where}.ruleTypeId", type_id,
                                         "rules have category Rule and owner AWS",
                                         "set ruleTypeId category=Rule, owner=AWS"))
    if type_id.get("provider") not in RULE_PROVIDERS:
        problems.append(ConditionProblem(f"{where}.ruleTypeId.provider",
                                         type_id.get("provider"),
                                         f"a rule provider is one of {', '.join(RULE_PROVIDERS)}",
                                         "choose one of those"))
    return problems
