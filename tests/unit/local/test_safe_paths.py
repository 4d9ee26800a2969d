"""Crafted archives and names never write outside their folder (runbook_lib.local.safe_paths)."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from runbook_lib.local.archives import extract_zip as unzip_to
from runbook_lib.local.codebuild.cache import unpack_cache
from runbook_lib.local.codepipeline.repos import RepoRegistry, RepositoryError, validate_repo_id
from runbook_lib.local.safe_paths import (
    UnsafePathError,
    check_component,
    check_relative,
    refuse_state_folder,
)


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, content)
    return buffer.getvalue()


def _tar(members: list[tarfile.TarInfo]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info in members:
            data = b"x" * info.size if info.isfile() else None
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 3 if kind == tarfile.REGTYPE else 0
    info.mode = 0o644
    return info


ZIP_CASES = {
    "absolute member": ("/tmp/evil.txt", stat.S_IFREG | 0o644),
    "dot-dot member": ("../evil.txt", stat.S_IFREG | 0o644),
    "dot-dot deep member": ("a/../../evil.txt", stat.S_IFREG | 0o644),
    "backslash dot-dot member": ("a\\..\\..\\evil.txt", stat.S_IFREG | 0o644),
    "drive letter member": ("C:/evil.txt", stat.S_IFREG | 0o644),
    "symlink member": ("link", stat.S_IFLNK | 0o777),
    "character device member": ("dev", stat.S_IFCHR | 0o644),
    "fifo member": ("fifo", stat.S_IFIFO | 0o644),
}


@pytest.mark.parametrize("name,mode", ZIP_CASES.values(), ids=ZIP_CASES.keys())
def test_a_crafted_zip_is_refused_and_writes_nothing(tmp_path, name, mode):
    dest = tmp_path / "dest"
    data = _zip([("ok.txt", b"fine", stat.S_IFREG | 0o644), (name, b"/etc/passwd", mode)])
    with pytest.raises(UnsafePathError):
        unzip_to(data, dest)
    assert not (dest / "ok.txt").exists()  # checked before anything is written
    assert not (tmp_path / "evil.txt").exists()


def test_a_plain_zip_extracts_with_its_executable_bits(tmp_path):
    data = _zip([("bin/run.sh", b"#!/bin/sh\n", stat.S_IFREG | 0o755),
                 ("docs/", b"", stat.S_IFDIR | 0o755), ("./a/b.txt", b"b", 0)])
    unzip_to(data, tmp_path / "dest")
    assert (tmp_path / "dest/bin/run.sh").stat().st_mode & 0o111
    assert (tmp_path / "dest/a/b.txt").read_bytes() == b"b"
    assert (tmp_path / "dest/docs").is_dir()


def test_a_zip_cannot_write_through_a_link_already_in_the_folder(tmp_path):
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        unzip_to(_zip([("link/evil.txt", b"x", stat.S_IFREG | 0o644)]), dest)
    assert not (outside / "evil.txt").exists()


TAR_CASES = {
    "absolute after the src prefix": _member("src//tmp/evil.txt"),
    "absolute member": _member("/tmp/evil.txt"),
    "dot-dot member": _member("src/../../evil.txt"),
    "dot-dot in home member": _member("abs/root/../../evil.txt"),
    "symlink member": _member("src/link", tarfile.SYMTYPE, "/etc"),
    "hard link member": _member("src/hard", tarfile.LNKTYPE, "/etc/passwd"),
    "character device member": _member("src/dev", tarfile.CHRTYPE),
    "block device member": _member("src/blk", tarfile.BLKTYPE),
    "fifo member": _member("src/fifo", tarfile.FIFOTYPE),
}


@pytest.mark.parametrize("member", TAR_CASES.values(), ids=TAR_CASES.keys())
def test_a_crafted_cache_archive_is_refused_and_writes_nothing(tmp_path, member):
    src, home = tmp_path / "src", tmp_path / "home"
    src.mkdir()
    home.mkdir()
    data = _tar([_member("src/ok.txt"), member])
    with pytest.raises(UnsafePathError):
        unpack_cache(data, src, home)
    assert not (src / "ok.txt").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_a_plain_cache_archive_restores_into_src_and_home(tmp_path):
    src, home = tmp_path / "src", tmp_path / "home"
    data = _tar([_member("src/node_modules/a.js"), _member("abs/root/.npm/x"),
                 _member("abs/etc/skipped")])
    assert unpack_cache(data, src, home) == 2
    assert (src / "node_modules/a.js").read_bytes() == b"xxx"
    assert (home / ".npm/x").exists()
    assert not (home / "etc").exists()


NAME_CASES = {
    "empty": "", "dot": ".", "dot-dot": "..", "slash": "a/b", "backslash": "a\\b",
    "nul": "a\0b",
}


@pytest.mark.parametrize("name", NAME_CASES.values(), ids=NAME_CASES.keys())
def test_a_name_that_is_not_one_component_is_refused(name):
    with pytest.raises(UnsafePathError):
        check_component(name, "project name")


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x", "", "C:\\x"])
def test_a_relative_path_that_escapes_is_refused(name):
    with pytest.raises(UnsafePathError):
        check_relative(name, "--out")


@pytest.mark.parametrize("repo_id", ["..", ".", "acme/..", "../x", "a/b/c", "a b"])
def test_a_repository_id_that_names_no_single_repository_is_refused(repo_id):
    with pytest.raises(RepositoryError):
        validate_repo_id(repo_id)


def test_the_state_folder_and_its_parents_are_never_a_repository(tmp_path):
    state = tmp_path / "state"
    (state / "repos" / "acme__app").mkdir(parents=True)
    for path in (state, tmp_path, state / "repos" / ".."):
        with pytest.raises(UnsafePathError):
            refuse_state_folder(path, state, "repository folder")
        with pytest.raises(RepositoryError):
            RepoRegistry(state).add("acme/app", Path(path))
    assert refuse_state_folder(state / "repos" / "acme__app", state, "x")
