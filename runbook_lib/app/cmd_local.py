"""``runbook local ...``: run, inspect and wipe the embedded local AWS; register git repositories.

    runbook local serve|start|stop|status|reset   the embedded local AWS
    runbook local env                             export lines for a new shell
    runbook local repo add|list|remove            local git repositories as pipeline sources

``start`` and ``status`` print the ``export`` lines that point the AWS CLI and SDKs at the
server with its own key pair (``eval "$(runbook local start)"`` applies them).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shlex
import signal
import sys
from pathlib import Path

from runbook_lib.core import local_endpoint
from runbook_lib.core.errors import LocalAwsError
from runbook_lib.local import clock

_STATE_HELP = "state directory (default $RUNBOOK_STATE_DIR or ~/.runbook/local)"


def add_local_parser(sub) -> None:
    """Register ``runbook local`` and its subcommands on the top-level subparsers."""
    local = sub.add_parser("local", help="the embedded local AWS")
    lsub = local.add_subparsers(dest="local_command")
    for name, func, helptext in (
        ("serve", _local_serve, "run in the foreground"),
        ("start", _local_start, "run in the background; prints the export lines"),
        ("stop", _local_stop, "stop the background server"),
        ("status", _local_status, "is a background server running? prints the export lines"),
        ("reset", _local_reset, "stop the server and wipe its state directory"),
        ("env", _local_env, "the export lines for a new shell (starts the local AWS of "
         "runbook.toml's state folder if it is not running)"),
    ):
        p = lsub.add_parser(name, help=helptext)
        p.add_argument("--state-dir", type=Path, default=None, help=_STATE_HELP)
        if name in ("serve", "start"):
            _add_serve_options(p)
        p.set_defaults(func=func)
    _add_repo_parser(lsub)
    local.set_defaults(func=lambda _args: local.print_help() or 2)


def _add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=None,
                   help="port (default 4599 for serve, a free port for start)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a non-loopback --host: anyone who can reach the port and holds "
                   "the key pair can run commands on this machine")
    p.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="grant CORS to this browser origin (repeatable; none by default)")
    p.add_argument("--unsandboxed-builds", action="store_true",
                   help="where bubblewrap cannot run (not Linux, no user namespaces), run "
                   "builds without a sandbox: their commands can then read your files, "
                   "credentials and the state folder")
    p.add_argument("--time-factor", default=None, metavar="N",
                   help="rehearsal clock: run the local AWS's waits (gate WaitTime, approval "
                   "expiry, build timeouts, schedules) N times faster than real time (default "
                   "$RUNBOOK_LOCAL_TIME_FACTOR or 1)")


def _apply_time_factor(args) -> None:
    """--time-factor, checked, becomes the serving process's $RUNBOOK_LOCAL_TIME_FACTOR."""
    if args.time_factor:
        factor = clock.parse_factor(args.time_factor, "--time-factor")
        os.environ[clock.FACTOR_ENV] = f"{factor:g}"
    else:
        clock.time_factor()  # a bad $RUNBOOK_LOCAL_TIME_FACTOR stops the start, named


def _state_dir(args) -> Path:
    return Path(args.state_dir or local_endpoint.default_state_dir()).expanduser()


def _check_host(args) -> None:
    """Refuse a non-loopback bind address unless --allow-remote says the operator means it."""
    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return
    if not args.allow_remote:
        raise LocalAwsError(
            f"--host {args.host} is not a loopback address: anyone who can reach it could run "
            "commands on this machine through CodeBuild. Fix: drop --host (127.0.0.1), or add "
            "--allow-remote if you really mean to serve other machines."
        )
    print(f"runbook: WARNING: serving on {args.host}: anyone who can reach this port and holds "
          "the key pair can run commands on this machine.", file=sys.stderr, flush=True)


def _sandbox_policy(args) -> None:
    """Probe bubblewrap once at start; say what --unsandboxed-builds exposes when it is used."""
    from runbook_lib.local.codebuild import sandbox

    sandbox.allow_unsandboxed(args.unsandboxed_builds)
    found = sandbox.support()
    if found.available:
        return
    if args.unsandboxed_builds:
        print(f"runbook: WARNING: {sandbox.UNSANDBOXED_WARNING} ({found.reason})",
              file=sys.stderr, flush=True)
    else:
        print(f"runbook: WARNING: builds cannot run: {found.reason}. Every build will fail "
              "in PROVISIONING; restart with --unsandboxed-builds to run them without a "
              "sandbox.", file=sys.stderr, flush=True)


def _local_serve(args) -> int:
    from runbook_lib.local.server import process
    from runbook_lib.local.server.server import DEFAULT_PORT, LocalAwsServer

    _check_host(args)
    _sandbox_policy(args)
    _apply_time_factor(args)
    os.umask(0o077)  # every file the server and its builds create is the operator's alone
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state_dir = _state_dir(args)
    port = DEFAULT_PORT if args.port is None else args.port
    server = LocalAwsServer(state_dir, host=args.host, port=port,
                            allow_origins=tuple(args.allow_origin),
                            allow_remote=args.allow_remote)
    process.write_status(state_dir, server.host, server.port)
    note = server.app.journal.recovery_note()
    if note:
        print(f"runbook: WARNING: {note}", flush=True)

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"local AWS listening at {server.endpoint_url}; state in {state_dir}", flush=True)
    factor = clock.time_factor()
    if factor != 1:
        print(f"rehearsal clock: waits run {factor:g}x faster than real time", flush=True)
    if sys.stdout.isatty():  # the key pair goes to a terminal, never into server.log
        print("\n".join(server.credentials.export_lines(server.endpoint_url)), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        process.clear_status(state_dir, os.getpid())
    return 0


def _local_start(args) -> int:
    from runbook_lib.local.server import process

    _check_host(args)
    factor = clock.parse_factor(args.time_factor, "--time-factor") if args.time_factor else None
    status = process.start(_state_dir(args), port=args.port or 0, host=args.host,
                           time_factor=factor,
                           allow_origins=tuple(args.allow_origin),
                           allow_remote=args.allow_remote,
                           unsandboxed_builds=args.unsandboxed_builds)
    print(f"# local AWS running (pid {status.pid}); state in {status.state_dir}")
    _print_exports(Path(status.state_dir), status.endpoint_url)
    return 0


def _print_exports(state_dir: Path, endpoint_url: str) -> None:
    from runbook_lib.core.local_credentials import read_credentials

    creds = read_credentials(state_dir)
    if creds is None:
        raise LocalAwsError(f"the local AWS's key pair in {state_dir} cannot be read. Fix: run "
                            "this as the user who started it.")
    region = os.environ.get("AWS_REGION") or "us-east-1"
    print("\n".join(creds.export_lines(endpoint_url, region)))


def _local_stop(args) -> int:
    from runbook_lib.local.server import process

    stopped = process.stop(_state_dir(args))
    print("local AWS stopped" if stopped else "no local AWS was running")
    return 0


def _local_status(args) -> int:
    from runbook_lib.local.server import client

    status = local_endpoint.read_status(_state_dir(args))
    if not (status and status.alive):
        print("not running; start it with `runbook local start`")
        return 3
    print(f"# running (pid {status.pid}) at {status.endpoint_url}; state in {status.state_dir}")
    try:
        info = client.server_info(status.endpoint_url)
    except LocalAwsError as err:
        info = {"recovered": f"could not ask the server what it recovered: {err}"}
    if info.get("recovered"):
        print(f"# WARNING at start: {info['recovered']}")
    factor = float(info.get("time_factor") or 1)
    print(f"# rehearsal clock: waits run {factor:g}x faster than real time" if factor != 1 else
          "# clock: real time (no --time-factor)")
    _print_exports(Path(status.state_dir), status.endpoint_url)
    return 0


def _local_env(args) -> int:
    """``eval "$(runbook local env)"`` in a new shell: the same local AWS as `runbook run`."""
    from runbook_lib.local.server import process

    state_dir = _state_dir(args)
    status = local_endpoint.read_status(state_dir)
    if not (status and status.alive):
        status = process.start(state_dir)
        print(f"# started the local AWS (pid {status.pid}); stop it with `runbook local stop`")
    print(f"# local AWS at {status.endpoint_url}; state in {status.state_dir}")
    print(f"export RUNBOOK_STATE_DIR={shlex.quote(str(status.state_dir))}")
    _print_exports(Path(status.state_dir), status.endpoint_url)
    return 0


def _local_reset(args) -> int:
    from runbook_lib.local.server import process

    state_dir = _state_dir(args)
    removed = process.reset(state_dir)
    print(f"local AWS state wiped ({removed} files removed from {state_dir})")
    return 0


def _add_repo_parser(lsub) -> None:
    repo = lsub.add_parser("repo", help="local git repositories that stand in for GitHub or "
                           "CodeCommit sources")
    rsub = repo.add_subparsers(dest="repo_command")
    add = rsub.add_parser("add", help="register a git repository under a repository id")
    add.add_argument("repo_id", metavar="OWNER/NAME",
                     help="the source's FullRepositoryId (or a CodeCommit RepositoryName)")
    add.add_argument("path", type=Path, help="folder of a git work tree or bare repository")
    add.set_defaults(func=_repo_add)
    listing = rsub.add_parser("list", help="registered repositories with branch and head")
    listing.set_defaults(func=_repo_list)
    remove = rsub.add_parser("remove", help="forget a registered repository (files stay)")
    remove.add_argument("repo_id", metavar="OWNER/NAME")
    remove.set_defaults(func=_repo_remove)
    for p in (add, listing, remove):
        p.add_argument("--state-dir", type=Path, default=None, help=_STATE_HELP)
    repo.set_defaults(func=lambda _args: repo.print_help() or 2)


def _repo_registry(args):
    from runbook_lib.local.codepipeline.repos import RepoRegistry

    return RepoRegistry(_state_dir(args))


def _repo_add(args) -> int:
    entry, replaced = _repo_registry(args).add(args.repo_id, args.path.expanduser().absolute())
    verb = "re-registered" if replaced else "registered"
    print(f"{verb} {entry.repo_id} -> {entry.path}")
    return 0


def _repo_list(args) -> int:
    rows = _repo_registry(args).listing()
    if not rows:
        print("no repositories registered; add one with `runbook local repo add OWNER/NAME PATH`")
        return 0
    table = [("ID", "PATH", "DEFAULT BRANCH", "HEAD")]
    for row in rows:
        head = row.head[:12] if row.head else "-"
        table.append((row.repo_id, row.path, row.default_branch or "-",
                      f"{head} ({row.problem})" if row.problem else head))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[3])
    return 0


def _repo_remove(args) -> int:
    _repo_registry(args).remove(args.repo_id)
    print(f"removed {args.repo_id} (its folder is untouched)")
    return 0
