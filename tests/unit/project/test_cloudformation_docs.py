"""docs/cloudformation.md lists exactly the resource types moto's CloudFormation creates.

The list is read from moto's own model map (a test may look inside moto; the local AWS may
not), so a moto upgrade that adds or drops a type fails here until the page is updated.
"""

from __future__ import annotations

import re
from pathlib import Path

from moto.cloudformation.parsing import get_model_map

from runbook_lib.buildspec.templates import SAMPLE_APP_DIR
from runbook_lib.local.codepipeline.cloudformation_template import (
    parse_template,
    template_resources,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "cloudformation.md"


def _documented() -> set[str]:
    section = DOC.read_text().split("## Resource types moto's CloudFormation creates", 1)[1]
    types = set()
    for service, names in re.findall(r"^\| (\w+) \| ([A-Za-z0-9, ]+) \|$", section, re.M):
        types |= {f"AWS::{service}::{name.strip()}" for name in names.split(",")}
    return types


def test_the_page_lists_moto_s_resource_types():
    modelled = {t for t in get_model_map() if t and t.startswith("AWS::")
                and t != "AWS::SERVICE::RESOURCE"}  # moto's placeholder base class
    assert _documented() == modelled


def test_the_sample_template_uses_only_listed_types():
    template = parse_template((SAMPLE_APP_DIR / "infra" / "template.yaml").read_text())
    assert {r.type for r in template_resources(template)} <= _documented()
