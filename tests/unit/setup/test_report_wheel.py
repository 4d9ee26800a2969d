"""The wheel the report build installs: this package, its report notebook, valid metadata."""

import zipfile

from runbook_lib.setup import report_wheel


def test_wheel_holds_the_package_the_notebook_and_its_record(tmp_path):
    wheel = report_wheel.build_wheel(tmp_path)
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record = next(n for n in names if n.endswith(".dist-info/RECORD"))
        recorded = {line.split(",")[0] for line in archive.read(record).decode().splitlines()}
    assert "runbook_lib/app/cli.py" in names
    assert report_wheel.PACKED_REPORT.as_posix() in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert recorded == set(names)


def test_the_same_tree_packs_to_the_same_bytes(tmp_path):
    first = report_wheel.build_wheel(tmp_path / "a").read_bytes()
    assert report_wheel.build_wheel(tmp_path / "b").read_bytes() == first
