"""The `logproc` command: `run [-c FILE] [--once]`, `check [-c FILE]`, `--version`.

Exit codes: 0 success (a graceful shutdown included); 2 a usage or config error (every
problem listed, each with file, line, key path and a suggestion); 1 a runtime failure (a
drain past `shutdown_timeout`, a stop by a second signal, or `--once` finishing with a
matched file it could not read — everything else is still delivered first).

Only what a command needs is imported, when it needs it: `--version` and `check` never
load the pipeline.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from logproc import __version__

if TYPE_CHECKING:
    from logproc.config import LoadedConfig

DEFAULT_CONFIG = "/etc/logproc/logproc.toml"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logproc", description="Tail log files, process entries, deliver them.")
    p.add_argument("--version", action="version", version=f"logproc {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = f"config file (default: $LOGPROC_CONFIG, else {DEFAULT_CONFIG})"
    run = sub.add_parser("run", help="run in the foreground until SIGTERM/SIGINT")
    run.add_argument("-c", "--config", help=config_help)
    run.add_argument("--once", action="store_true",
                     help="read every matched file to its end, deliver everything, exit")
    check = sub.add_parser("check", help="validate the config and show what it would do")
    check.add_argument("-c", "--config", help=config_help)
    return p


def _load(path_arg: str | None) -> LoadedConfig | int:
    from logproc.config import load
    from logproc.errors import ConfigErrors

    path = path_arg or os.environ.get("LOGPROC_CONFIG") or DEFAULT_CONFIG
    try:
        return load(path)
    except ConfigErrors as exc:
        n = len(exc.issues)
        print(f"logproc: {path}: invalid config ({n} problem{'s' if n != 1 else ''}):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    loaded = _load(args.config)
    if isinstance(loaded, int):
        return loaded
    if args.command == "check":
        from logproc.config.report import describe

        sys.stdout.write(describe(loaded))
        return 0
    return _run(loaded, args.once)


def _run(loaded: LoadedConfig, once: bool) -> int:
    from logproc import log

    log.set_mask(loaded.mask)
    log.configure(loaded.config.daemon.log_level)
    from logproc.daemon.supervisor import Supervisor

    try:
        sup = Supervisor(loaded, once=once, progress=once and sys.stderr.isatty())
    except OSError as exc:
        log.get_logger("cli").error("cannot start", error=str(exc), path=getattr(exc, "filename", None))
        return 1
    code = sup.run()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything that must be flushed and committed is; a thread may still be stuck in a
    # sink that never answers (past the deadline, or an abandoned best-effort sink), and
    # the interpreter would wait for it forever at exit.
    os._exit(code)
