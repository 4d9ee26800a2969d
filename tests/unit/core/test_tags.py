"""Ownership tags: tag lists in both spellings, and what counts as ours."""

import pytest

from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError


def test_tag_lists_round_trip_in_both_spellings():
    owned = tags.ownership_tags("shop")
    assert tags.from_tag_list(tags.as_tag_list(owned)) == owned
    assert tags.from_tag_list(tags.as_tag_list(owned, "key", "value")) == owned


@pytest.mark.parametrize("case, found, ok", [
    ("ours", tags.ownership_tags("shop"), True),
    ("other app", tags.ownership_tags("cart"), False),
    ("untagged", {}, False),
    ("none", None, False),
])
def test_ownership(case, found, ok):
    assert tags.is_owned(found, "shop") is ok, case
    if not ok:
        with pytest.raises(NotOwnedError, match="not managed by this suite"):
            tags.require_owned("S3 bucket b", found, "shop")
