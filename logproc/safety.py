"""The files logproc trusts: its state folder and its config file.

The state folder (`daemon.state_dir`) holds the checkpoints, the dead letters and, later,
the control socket. Another user who can write there could plant a symlink where the
daemon writes (a root daemon would then overwrite any file) or swap the checkpoints.

- `prepare_state_dir(path)` (`run`, before anything is read): a missing folder is created
  with mode 0700 (its missing parents 0755); the folder must be a directory (a symlink to
  one is fine, a dangling one is not) that the daemon can write; a folder writable by its
  group or by others is refused, since fixing its mode could open up a shared folder
  (`/tmp`) or hide a mistake. Problems raise `StateDirError`, reported as a config error
  at `daemon.state_dir` (exit 2).
- `inspect_state_dir(path)` (`check`): the same judgement without creating anything:
  (errors, warnings).
- `config_file_warnings(path)`: a config file writable by group or others, or owned by a
  user other than root and the daemon's own, is warned about by `run` and `check`: with
  `watch_config` the daemon reloads whatever such a user writes there (logrotate refuses
  such files outright).

Files inside the folder are opened with `O_NOFOLLOW` (temporary files also `O_EXCL`) by
their owners (`checkpoints`, `sinks.deadletter`), so even a folder that became unsafe
after start-up cannot redirect a write.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from logproc.errors import LogprocError


class StateDirError(LogprocError):
    """`daemon.state_dir` cannot be used; the message says why and what to do."""


def _mode(st: os.stat_result) -> str:
    return oct(stat.S_IMODE(st.st_mode))[2:].zfill(4)


def _judge(path: Path, st: os.stat_result) -> str | None:
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a folder"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"{path} is writable by other users (mode {_mode(st)}): they could replace the "
                f"daemon's checkpoints or redirect its writes; run \"chmod 700 {path}\" or choose "
                "another folder")
    return None


def _lstat_dangling(path: Path) -> str | None:
    try:
        target = os.readlink(path)
    except OSError:
        return None
    return f"{path} is a symlink to {target}, which does not exist"


def inspect_state_dir(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) about `path` as a state folder, changing nothing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        dangling = _lstat_dangling(path)
        if dangling:
            return [dangling], []
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            return [], [f"{path} does not exist and cannot be created here ({parent} is not writable "
                        "by this user; the daemon's user may differ)"]
        return [], []
    except OSError as exc:
        return [f"cannot use {path}: {exc.strerror}"], []
    problem = _judge(path, st)
    if problem:
        return [problem], []
    warnings = []
    if st.st_uid not in (0, os.geteuid()):
        warnings.append(f"{path} belongs to user {st.st_uid}, not to this user")
    if not os.access(path, os.W_OK | os.X_OK):
        warnings.append(f"{path} is not writable by this user (the daemon's user may differ)")
    return [], warnings


def prepare_state_dir(path: Path) -> list[str]:
    """Create `path` (0700) if missing and judge it; the warnings to log. `StateDirError`
    when the daemon cannot or must not use it."""
    dangling = _lstat_dangling(path) if not path.exists() else None
    if dangling:
        raise StateDirError(dangling)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.mkdir(mode=0o700, exist_ok=True)
        st = os.stat(path)
    except OSError as exc:
        raise StateDirError(f"cannot create {path}: {exc.strerror}") from None
    problem = _judge(path, st)
    if problem:
        raise StateDirError(problem)
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateDirError(f"{path} is not writable by this user (uid {os.geteuid()})")
    return ([f"{path} belongs to user {st.st_uid}, not to this user"]
            if st.st_uid not in (0, os.geteuid()) else [])


def config_file_warnings(path: Path) -> list[str]:
    """Why the config file at `path` could be changed by someone else (empty: it cannot)."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    out = []
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        out.append(f"config file {path} is writable by other users (mode {_mode(st)}); "
                   f"run \"chmod go-w {path}\"")
    if st.st_uid not in (0, os.geteuid()):
        out.append(f"config file {path} belongs to user {st.st_uid}, neither root nor this user")
    return out
