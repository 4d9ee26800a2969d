"""Rich displays: the text form is the suite's fixed-width text, the HTML form a real table with
badges from the one palette, folded long values and console links; both deterministic."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from runbook_lib.core.params import Params
from runbook_lib.views import console, display, nb, operate_plots, palette


class _Cells(HTMLParser):
    """Collects table cells' text and a few attributes, to check the HTML's structure."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.statuses: list[str] = []
        self.hrefs: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "span" and "data-status" in attrs:
            self.statuses.append(attrs["data-status"])
        elif tag == "a":
            self.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(markup: str) -> _Cells:
    parser = _Cells()
    parser.feed(markup)
    return parser


ROWS = [("Build", "Succeeded", "1/1", "12.0 s"), ("Deploy-staging", "Failed", "0/1", "3.0 s")]
HEADERS = ["stage", "status", "actions", "time"]


def test_text_form_is_the_fixed_width_table():
    table = display.Table(ROWS, HEADERS)
    assert table.text().splitlines() == [
        "stage           status     actions  time",
        "--------------  ---------  -------  ------",
        "Build           Succeeded  1/1      12.0 s",
        "Deploy-staging  Failed     0/1      3.0 s",
    ]
    bundle = table._repr_mimebundle_()
    assert bundle["text/plain"] == table.text() == str(table)


def test_nb_table_prints_the_same_text_outside_a_notebook(capsys):
    nb.table(ROWS, HEADERS)
    assert capsys.readouterr().out == display.Table(ROWS, HEADERS).text() + "\n"


def test_html_form_is_a_real_table_with_badged_statuses():
    parsed = _parse(display.Table(ROWS, HEADERS).html())
    assert parsed.rows[0] == HEADERS
    assert [r[0] for r in parsed.rows[1:]] == ["Build", "Deploy-staging"]
    assert parsed.statuses == ["Succeeded", "Failed"]
    assert parsed.rows[2][1] == f"{palette.style('Failed').symbol} Failed"


def test_html_is_deterministic():
    assert display.Table(ROWS, HEADERS).html() == display.Table(ROWS, HEADERS).html()


@pytest.mark.parametrize(("header", "value", "badged"), [
    ("status", "Succeeded", True),
    ("anything", "InProgress", True),
    ("action", "create", True),
    ("name", "create", False),  # a plain word outside a status column stays text
    ("status", "no such status", False),
], ids=["status column", "pipeline status anywhere", "plan action", "word elsewhere",
        "unknown status"])
def test_which_cells_get_a_badge(header, value, badged):
    assert display.is_status_cell(header, value) is badged


def test_long_and_multiline_values_fold_into_details():
    long = "x" * 200
    assert "<details>" in display.fold(long) and long in display.fold(long)
    assert "<details>" in display.fold("line one\nline two")
    assert display.fold("short <b>") == "short &lt;b&gt;"


def test_values_are_escaped():
    markup = display.Table([("<script>alert(1)</script>", "ok")], ["name", "x"]).html()
    assert "<script>alert" not in markup and "&lt;script&gt;" in markup


def test_console_links_only_on_aws():
    names = Params().names("123456789012")
    assert console.console_links(names, "local") == {}
    links = console.console_links(names, "aws")
    assert links[names.artifact_bucket].startswith("https://s3.console.aws.amazon.com/")
    assert names.pipeline in links[names.pipeline]
    parsed = _parse(display.Table([(f"s3 bucket {names.artifact_bucket}", "create")],
                                  ["resource", "action"], links).html())
    assert parsed.hrefs == [links[names.artifact_bucket]]


def test_status_badge_and_preformatted_have_both_forms():
    badge = display.StatusBadge("converged", "artifact bucket is converged")
    assert badge.text() == "artifact bucket is converged"
    assert _parse(badge.html()).statuses == ["converged"]
    block = display.Preformatted("failed action: Build/Build", "Failed", "run failed")
    assert block.text() == "failed action: Build/Build"
    assert "data-status='Failed'" in block.html() and "<pre>" in block.html()


def test_plots_and_html_share_one_palette():
    for status in ("Succeeded", "Failed", "InProgress"):
        assert operate_plots.STATUS_COLOURS[status] == palette.style(status).colour
    assert all(s.symbol for s in palette.STATUS_STYLES.values())
