"""Every path built from outside data stays inside its folder.

Archives (sources, build inputs, caches, artifacts, deploys) and names (repository ids, project,
pipeline, artifact and report names, ``--out``, ``--dir``) come from requests, buildspecs and
command lines. One module checks them all, so the rule is the same everywhere: no absolute
member, no ``..``, no link or device from an archive, no write that follows a link out of the
target folder.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from runbook_lib.core.errors import RunbookError


class UnsafePathError(RunbookError, ValueError):
    """A name or archive member would reach outside its folder; nothing was written."""


def check_component(name: str, what: str) -> str:
    """``name`` as one path component: not empty, ``.``, ``..``, nor holding a separator."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name):
        raise UnsafePathError(
            f"{what} {name!r} cannot name a folder: it must be one path component, not empty, "
            "'.', '..', and without '/', '\\' or NUL. Fix: use letters, digits, '-', '_' and '.'."
        )
    return name


def check_relative(name: str, what: str) -> PurePosixPath:
    """A relative path with no ``..``, no absolute root and no drive: safe to join to a folder."""
    parts = name.replace("\\", "/").split("/")
    if (not name or "\0" in name or name.startswith(("/", "\\")) or ".." in parts
            or (len(parts[0]) == 2 and parts[0][1] == ":")):
        raise UnsafePathError(
            f"{what} {name!r} would reach outside its folder (absolute, a drive, or '..'). "
            "Fix: archive members and names must be relative paths inside the folder."
        )
    return PurePosixPath(*[p for p in parts if p not in ("", ".")] or ["."])


def safe_join(root: Path, name: str, what: str) -> Path:
    """``root / name``, refused when ``name`` or a link already on disk leads outside ``root``."""
    relative = check_relative(name, what)
    root = Path(root)
    target = root.joinpath(*relative.parts)
    real_root = root.resolve()
    real_target = target.resolve()
    if real_target != real_root and real_root not in real_target.parents:
        raise UnsafePathError(f"{what} {name!r} resolves to {real_target}, outside {real_root} "
                              "(through a symbolic link); nothing was written there.")
    return target


def extract_zip(data: bytes, dest: Path, what: str = "zip member",
                keep_links: bool = False) -> int:
    """Extract a zip into ``dest``: files and folders only, executable bits kept; with
    ``keep_links``, symbolic links too, when they point inside ``dest`` (see
    :func:`_make_links`).

    Every member is checked before anything is written; returns how many files were written."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos, links = zf.infolist(), {}
        for info in infos:
            check_relative(info.filename, what)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind == stat.S_IFLNK and keep_links:
                links[info.filename.rstrip("/")] = _link_target(zf.read(info), info, what)
            elif kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise UnsafePathError(f"{what} {info.filename!r} is a {_kind_name(kind)}; only "
                                      "files and folders are extracted.")
        count = 0
        for info in infos:
            if info.filename.rstrip("/") in links:
                continue
            target = safe_join(dest, info.filename, what)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            mode = (info.external_attr >> 16) & 0o777
            _write_file(dest, info.filename, target, zf.read(info), mode or 0o644, what)
            count += 1
    _make_links(dest, links, what)
    return count


def _link_target(raw: bytes, info: zipfile.ZipInfo, what: str) -> str:
    """A link member's target: relative, and lexically inside the folder."""
    target = raw.decode("utf-8", "surrogateescape")
    where = PurePosixPath(info.filename.rstrip("/")).parent / target
    if (not target or target.startswith("/") or "\0" in target
            or os.path.normpath(where.as_posix()).split("/")[0] == ".."):
        raise UnsafePathError(f"{what} {info.filename!r} is a symbolic link to {target!r}, "
                              "outside the archive's folder; links are kept only when they "
                              "point inside it. Fix: make the link relative and inside the "
                              "repository, or commit the file itself.")
    return target


def _make_links(dest: Path, links: dict[str, str], what: str) -> None:
    """Create the links after every file (nothing is written through one), then check each
    resolves inside ``dest`` (a chain of links can leave where each alone stays): if one
    does not, every link made is removed and the archive refused."""
    made = []
    try:
        for name, target in sorted(links.items()):
            path = safe_join(dest, name, what)
            path.parent.mkdir(parents=True, exist_ok=True)
            safe_join(dest, name, what)
            os.symlink(target, path)
            made.append((name, path))
        for name, path in made:
            real, root = path.resolve(), dest.resolve()
            if real != root and root not in real.parents:
                raise UnsafePathError(f"{what} {name!r} is a symbolic link that resolves to "
                                      f"{real}, outside {root}; nothing links out of it.")
    except (UnsafePathError, OSError):
        for _name, path in made:
            path.unlink(missing_ok=True)
        raise


def extract_tar_files(data: bytes, place: Callable[[str], tuple[Path, str] | None],
                      what: str = "tar member") -> int:
    """Extract the regular files of a gzipped tar, each where ``place(name)`` says.

    ``place`` maps a member name to (folder, relative path) or None to skip it. Links, hard
    links and devices are refused before anything is written; returns the files written."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        planned = []
        for member in tar.getmembers():
            check_relative(member.name, what)
            if not (member.isfile() or member.isdir()):
                raise UnsafePathError(f"{what} {member.name!r} is a {_tar_kind(member)}; only "
                                      "files and folders are restored.")
            where = place(member.name) if member.isfile() else None
            if where is not None:
                safe_join(where[0], where[1], what)
                planned.append((member, *where))
        for member, folder, relative in planned:
            target = safe_join(folder, relative, what)
            fh = tar.extractfile(member)
            if fh is None:  # not a regular file after all: refused above, never planned
                raise UnsafePathError(f"{what} {member.name!r} has no content to restore.")
            with fh:
                _write_file(folder, relative, target, fh.read(), member.mode & 0o777, what)
    return len(planned)


def _write_file(root: Path, name: str, target: Path, content: bytes, mode: int,
                what: str) -> None:
    """Write without following a link at the target itself (a link placed there meanwhile)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    safe_join(root, name, what)  # the parents now exist: check again, links included
    if target.is_symlink():
        target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.chmod(target, mode or 0o644)


def _kind_name(kind: int) -> str:
    return {stat.S_IFLNK: "symbolic link", stat.S_IFCHR: "character device",
            stat.S_IFBLK: "block device", stat.S_IFIFO: "FIFO",
            stat.S_IFSOCK: "socket"}.get(kind, "special file")


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    return "special file"


def check_inside(path: Path, folder: Path, what: str) -> Path:
    """``path`` (absolute or relative to the working folder) if it lies inside ``folder``."""
    real, real_folder = Path(path).resolve(), Path(folder).resolve()
    if real != real_folder and real_folder not in real.parents:
        raise UnsafePathError(f"{what} {path} is outside {real_folder}. Fix: choose a path "
                              f"inside {real_folder}.")
    return Path(path)


def refuse_state_folder(path: Path, state_dir: Path, what: str) -> Path:
    """Refuse ``path`` when it is the state folder or contains it (it would ship the journal,
    which holds Secrets Manager values); folders inside the state folder are fine."""
    real, state = Path(path).resolve(), Path(state_dir).resolve()
    if real == state or real in state.parents:
        raise UnsafePathError(
            f"{what} {path} is the local AWS's state folder or contains it ({state}); its "
            "journal holds secret values and must never become a source. Fix: pass the "
            "folder of the git repository itself."
        )
    return Path(path)
