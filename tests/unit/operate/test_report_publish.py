"""Publishing the report: destinations are checked before any AWS call; the message says all."""

import pytest

from runbook_lib.core.errors import ParameterError
from runbook_lib.operate import report_publish


@pytest.mark.parametrize(("text", "expected"), [
    ("s3://bucket/reports/p/", ("bucket", "reports/p/")),
    ("s3://bucket/reports/p", ("bucket", "reports/p/")),
    ("s3://bucket", ("bucket", "")),
])
def test_destinations(text, expected):
    assert report_publish.parse_destination(text) == expected


@pytest.mark.parametrize("text", ["bucket/reports", "s3:///reports/", "https://x/y"])
def test_bad_destination_names_the_option(text):
    with pytest.raises(ParameterError, match="--publish"):
        report_publish.parse_destination(text)


def test_notification_has_the_link_and_where_it_is_kept():
    text = report_publish.notification_text("p", "2030-01-01", "https://link", "s3://b/k")
    assert "https://link" in text and "s3://b/k" in text and "pipeline p" in text
