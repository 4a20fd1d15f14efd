"""The `logproc` command: `run [-c FILE] [--once]`, `check [-c FILE]`, `--version`.

Exit codes: 0 success (a graceful shutdown included); 2 a usage or config error (every
problem listed, each with file, line, key path and a suggestion) or a start-up error
(`StartupError`: a listen address in use); 1 a runtime failure (a
drain past `shutdown_timeout`, a stop by a second signal, or `--once` finishing with a
matched file it could not read — everything else is still delivered first).

Only what a command needs is imported, when it needs it: `--version` and `check` never
load the pipeline. `run` installs its signal handlers before anything slow (loading the
config, importing the pipeline): a SIGTERM in the first moments is then a graceful stop,
not a death by the signal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

from logproc import __version__

if TYPE_CHECKING:
    from logproc.config import LoadedConfig
    from logproc.daemon.signals import SignalReceiver

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


def _report(path: str, issues: list[Any]) -> int:
    n = len(issues)
    print(f"logproc: {path}: invalid config ({n} problem{'s' if n != 1 else ''}):", file=sys.stderr)
    for issue in issues:
        print(f"  {issue}", file=sys.stderr)
    return 2


def _load(path_arg: str | None) -> LoadedConfig | int:
    from logproc.config import load
    from logproc.errors import ConfigErrors

    path = path_arg or os.environ.get("LOGPROC_CONFIG") or DEFAULT_CONFIG
    try:
        return load(path)
    except ConfigErrors as exc:
        return _report(path, exc.issues)


def _state_dir_issue(loaded: LoadedConfig, message: str) -> Any:
    from logproc.config.locate import locate
    from logproc.errors import ConfigIssue

    try:
        text = loaded.path.read_text("utf-8")
    except OSError:
        text = ""
    return ConfigIssue(str(loaded.path), locate(text, ("daemon", "state_dir")), "daemon.state_dir",
                       loaded.mask(message))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signals = None
    if args.command == "run":
        from logproc.daemon.signals import SignalReceiver

        signals = SignalReceiver()
        signals.install()
    loaded = _load(args.config)
    if isinstance(loaded, int):
        return loaded
    if args.command == "check":
        return _check(loaded)
    assert signals is not None
    return _run(loaded, args.once, signals)


def _check(loaded: LoadedConfig) -> int:
    from logproc.config.report import describe
    from logproc.safety import inspect_state_dir

    errors, _ = inspect_state_dir(loaded.config.daemon.state_dir)
    if errors:
        return _report(str(loaded.path), [_state_dir_issue(loaded, e) for e in errors])
    sys.stdout.write(describe(loaded))
    return 0


def _run(loaded: LoadedConfig, once: bool, signals: SignalReceiver) -> int:
    from logproc import log
    from logproc.safety import StateDirError, config_file_warnings, prepare_state_dir

    log.set_mask(loaded.mask)
    try:
        warnings = prepare_state_dir(loaded.config.daemon.state_dir)
    except StateDirError as exc:
        return _report(str(loaded.path), [_state_dir_issue(loaded, str(exc))])
    log.configure(loaded.config.daemon.log_level)
    cli_log = log.get_logger("cli")
    for warning in [*config_file_warnings(loaded.path), *warnings]:
        cli_log.warning(warning)
    from logproc.daemon.supervisor import Supervisor
    from logproc.errors import StartupError

    try:
        sup = Supervisor(loaded, once=once, progress=once and sys.stderr.isatty(), signals=signals)
    except StartupError as exc:  # e.g. a listen address in use: nothing was read
        print(f"logproc: {loaded.mask(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        cli_log.error("cannot start", error=str(exc), path=getattr(exc, "filename", None))
        return 1
    try:
        code = sup.run()
    except BaseException:  # a bug: never leave the threads running with nobody to stop them
        cli_log.exception("the supervisor failed; stopping at once, checkpoints as they stand")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    # Everything that must be flushed and committed is; a thread may still be stuck in a
    # sink that never answers (past the deadline, or an abandoned best-effort sink), and
    # the interpreter would wait for it forever at exit.
    os._exit(code)
