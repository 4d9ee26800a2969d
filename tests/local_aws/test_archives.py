"""The one zip routine: what goes in comes out, modes kept, nothing escapes the target."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from runbook_lib.local.archives import extract_zip, make_zip


def test_a_zip_round_trips_names_contents_and_executable_bits(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "src" / "run.sh").chmod(0o755)
    (tmp_path / "README.md").write_text("readme\n")
    data = make_zip({"bin/run.sh": tmp_path / "src" / "run.sh",
                     "README.md": tmp_path / "README.md"})

    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["README.md", "bin/run.sh"]
    extract_zip(data, tmp_path / "out")
    assert (tmp_path / "out" / "README.md").read_text() == "readme\n"
    assert os.access(tmp_path / "out" / "bin" / "run.sh", os.X_OK)


@pytest.mark.parametrize("entry", ["../escaped.txt", "a/../../escaped.txt"],
                         ids=["parent", "nested-parent"])
def test_an_entry_that_escapes_the_target_is_refused(tmp_path, entry):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(entry, "x")
    with pytest.raises(ValueError, match="outside its folder"):
        extract_zip(buffer.getvalue(), tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_data_that_is_not_a_zip_says_so(tmp_path):
    with pytest.raises(zipfile.BadZipFile):
        extract_zip(b"not a zip", tmp_path / "out")


def test_a_folder_is_zipped_whole_with_names_relative_to_it(tmp_path):
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "a.py").write_text("a\n")
    (tmp_path / "src" / "b.txt").write_text("b\n")
    names = zipfile.ZipFile(io.BytesIO(make_zip(tmp_path / "src"))).namelist()
    assert names == ["b.txt", "lib/a.py"]

