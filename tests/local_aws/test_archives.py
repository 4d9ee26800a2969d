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



# -- links: kept inside a source, never followed out of a folder (issue 16.7, 22.4) -----------

def _zip_with_links(files: dict[str, str], links: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)  # S_IFLNK, as git archive writes links
            zf.writestr(info, target)
    return buffer.getvalue()


def test_a_source_keeps_its_node_modules_bin_link_as_a_link(tmp_path):
    data = _zip_with_links({"node_modules/jest/bin/jest.js": "#!/usr/bin/env node\n"},
                           {"node_modules/.bin/jest": "../jest/bin/jest.js"})
    extract_zip(data, tmp_path / "src", keep_links=True)
    link = tmp_path / "src" / "node_modules" / ".bin" / "jest"
    assert link.is_symlink() and os.readlink(link) == "../jest/bin/jest.js"
    assert link.read_text() == "#!/usr/bin/env node\n"


@pytest.mark.parametrize("links", [
    {"creds": "../../credentials.json"}, {"abs": "/etc/passwd"},
    {"d": ".", "escape": "d/.."},  # each alone stays inside; the chain resolves outside
], ids=["relative-out", "absolute", "chain"])
def test_a_source_link_pointing_out_is_refused_and_nothing_stays(tmp_path, links):
    data = _zip_with_links({"ok.txt": "ok"}, links)
    with pytest.raises(ValueError, match="symbolic link"):
        extract_zip(data, tmp_path / "src", keep_links=True)
    assert not [p for p in (tmp_path / "src").rglob("*") if p.is_symlink()]


def test_links_are_refused_in_archives_that_are_not_sources(tmp_path):
    data = _zip_with_links({}, {"node_modules/.bin/jest": "../jest/bin/jest.js"})
    with pytest.raises(ValueError, match="symbolic link"):
        extract_zip(data, tmp_path / "out")


def test_zipping_a_folder_leaves_out_links_that_point_out_of_it(tmp_path):
    (tmp_path / "credentials.json").write_text("secret")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "app.js").write_text("app")
    (tmp_path / "work" / "creds").symlink_to("../credentials.json")
    (tmp_path / "work" / "alias.js").symlink_to("app.js")
    names = zipfile.ZipFile(io.BytesIO(make_zip(tmp_path / "work"))).namelist()
    assert names == ["alias.js", "app.js"]
