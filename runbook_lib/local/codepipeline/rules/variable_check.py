"""VariableCheck: compare a (resolved) variable with a value: EQ, NE, CONTAINS, MATCHES.

Rule reference: ``Variable`` (a ``#{ns.name}`` reference, resolved before the rule runs),
``Value`` and ``Operator``. MATCHES follows Java's ``Pattern.matches`` (the whole value must
match), which is Python's ``re.fullmatch`` for the common syntax.
"""

from __future__ import annotations

import re

from runbook_lib.local.codepipeline.rules import RuleContext, RuleOutcome, register_rule

_OPERATORS = {
    "EQ": lambda variable, value: variable == value,
    "NE": lambda variable, value: variable != value,
    "CONTAINS": lambda variable, value: value in variable,
    "MATCHES": lambda variable, value: re.fullmatch(value, variable) is not None,
}


@register_rule("VariableCheck")
class VariableCheckRule:
    PROPERTIES = (
        ("Variable", True, "The variable to check, e.g. #{SourceVariables.BranchName}"),
        ("Value", True, "The value to compare with"),
        ("Operator", True, "EQ, NE, CONTAINS or MATCHES"),
    )

    def run(self, ctx: RuleContext) -> RuleOutcome:
        cfg = ctx.configuration
        operator = cfg.get("Operator", "")
        if operator not in _OPERATORS:
            return RuleOutcome("Failed", f"Operator {operator!r} is not one of "
                               f"{', '.join(_OPERATORS)}", error_code="InvalidConfiguration")
        variable, value = cfg.get("Variable", ""), cfg.get("Value", "")
        try:
            passed = _OPERATORS[operator](variable, value)
        except re.error as err:
            return RuleOutcome("Failed", f"Value {value!r} is not a regular expression: {err}",
                               error_code="InvalidConfiguration")
        verdict = "holds" if passed else "does not hold"
        return RuleOutcome("Succeeded" if passed else "Failed",
                           f"{variable!r} {operator} {value!r} {verdict}")
