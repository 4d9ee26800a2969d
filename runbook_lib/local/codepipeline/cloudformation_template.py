"""What the CloudFormation deploy action reads from a template, for the checks moto skips.

moto's CloudFormation creates only the resource types it models and silently passes over the
rest (the stack still ends ``CREATE_COMPLETE``), and it ignores ``Capabilities``. On AWS the
first would be created and the second refused, so the action compares what the template
declares with what the stack holds, and asks for the capabilities AWS would ask for: a local
rehearsal then fails where AWS would differ, naming the resource or the capability.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

# Properties that give an IAM resource a custom name: AWS then asks for CAPABILITY_NAMED_IAM.
_IAM_NAME_PROPERTIES = ("RoleName", "UserName", "GroupName", "ManagedPolicyName",
                        "InstanceProfileName")
# Types moto accepts and makes nothing for (they hold nothing a stack could list): not missing.
NOTHING_TO_CREATE = ("AWS::CloudFormation::WaitCondition",
                     "AWS::CloudFormation::WaitConditionHandle")


@dataclass(frozen=True)
class TemplateResource:
    """One entry of the template's ``Resources``."""

    logical_id: str
    type: str
    conditional: bool  # has a ``Condition``: absent from the stack when it is false
    properties: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.logical_id} ({self.type})"


class TemplateError(ValueError):
    """The template cannot be read as CloudFormation JSON or YAML."""


class _TagLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (``!Ref``, ``!Sub`` ...) read as plain mappings."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    if isinstance(node, yaml.MappingNode):
        return {name: loader.construct_mapping(node, deep=True)}
    raise yaml.constructor.ConstructorError(None, None, f"!{suffix} takes a scalar, a list or "
                                            "a mapping", node.start_mark)


_TagLoader.add_multi_constructor("!", _short_form)


def parse_template(body: str | dict[str, Any]) -> dict[str, Any]:
    """The template as a dict (JSON or YAML; GetTemplate may already answer a dict)."""
    if isinstance(body, dict):
        return body
    try:
        document = json.loads(body)
    except ValueError:
        try:
            document = yaml.load(body, Loader=_TagLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as err:
            raise TemplateError(f"the template is neither JSON nor YAML: {err}") from err
    if not isinstance(document, dict):
        raise TemplateError("the template is not a mapping")
    return document


def template_resources(template: dict[str, Any]) -> list[TemplateResource]:
    """Every resource the template declares, in template order."""
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("the template has no Resources section")
    found = []
    for logical_id, declaration in resources.items():
        if not isinstance(declaration, dict) or not isinstance(declaration.get("Type"), str):
            raise TemplateError(f"resource {logical_id} has no Type")
        found.append(TemplateResource(str(logical_id), declaration["Type"],
                                      "Condition" in declaration,
                                      declaration.get("Properties") or {}))
    return found


def required_capabilities(template: dict[str, Any]) -> list[str]:
    """The capabilities AWS's CreateStack would refuse the template without.

    IAM resources need ``CAPABILITY_IAM``, or ``CAPABILITY_NAMED_IAM`` when one has a custom
    name; a ``Transform`` (SAM, macros) needs ``CAPABILITY_AUTO_EXPAND``.
    """
    needed = []
    iam = [r for r in template_resources(template) if r.type.startswith("AWS::IAM::")]
    if any(name in r.properties for r in iam for name in _IAM_NAME_PROPERTIES):
        needed.append("CAPABILITY_NAMED_IAM")
    elif iam:
        needed.append("CAPABILITY_IAM")
    if template.get("Transform"):
        needed.append("CAPABILITY_AUTO_EXPAND")
    return needed


def missing_capabilities(template: dict[str, Any], granted: list[str]) -> list[str]:
    """Required capabilities not granted (NAMED_IAM covers IAM, as on AWS)."""
    have = set(granted)
    if "CAPABILITY_NAMED_IAM" in have:
        have.add("CAPABILITY_IAM")
    return [c for c in required_capabilities(template) if c not in have]


def not_created(template: dict[str, Any], created: set[str]) -> list[TemplateResource]:
    """Unconditional resources of the template that the stack does not hold."""
    return [r for r in template_resources(template)
            if not r.conditional and r.logical_id not in created
            and r.type not in NOTHING_TO_CREATE]
