"""Where the journal is and how journalctl is asked for it: the command lines, the cursor
arithmetic, and the two probes the source runs before it follows.

Decision: the journal is read by a `journalctl -o json` child process, not by the
`systemd` Python binding (`sd_journal_*`): the binding needs libsystemd's headers and a C
build at install time, journalctl is on every machine that has a journal, and its JSON
output is a stable interface (Vector and Filebeat read the journal this way too). The
costs: one JSON encode in journalctl and one decode in a consumer per entry, and a
process to watch (see `child`).

Flags always given: `-o json --all` (`--all`: large fields are printed whole instead of
as null; binary ones come as arrays of byte values either way, see the parser),
`--no-pager`, `--no-tail` (see `follow_args`), and the source's matches. `--follow` is
left out for `run --once`.

Cursors are opaque to logproc except here: `s=` (the sequence number series of the
journal file set) and `i=` (the entry's number in it) are read to tell whether two cursors
name the same entry and how many entries lie between two cursors of one series.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from logproc.sources.journald.config import JournaldSourceConfig

SYSTEM_DIRS = ("/run/log/journal", "/var/log/journal")  # volatile, persistent
PROBE_TIMEOUT = 10.0  # seconds a probe may take (journalctl opens every journal file)
_CURSOR_KEY = b'"__CURSOR":"'


def journalctl() -> str | None:
    """The journalctl command (PATH, then the usual place), None when there is none."""
    found = shutil.which("journalctl")
    if found is None and os.access("/usr/bin/journalctl", os.X_OK):
        found = "/usr/bin/journalctl"
    return found


def system_journal_files() -> list[str]:
    """This machine's journal files (system and user journals, active and archived)."""
    out: list[str] = []
    for folder in SYSTEM_DIRS:
        out += glob.glob(os.path.join(folder, "*.journal"))
        out += glob.glob(os.path.join(folder, "*", "*.journal"))
    return out


def unreadable(files: list[str]) -> bool:
    """True when there are journal files and this process can read none of them (the
    user is in neither the systemd-journal nor the adm group)."""
    return bool(files) and not any(os.access(f, os.R_OK) for f in files)


def base_args(exe: str, cfg: JournaldSourceConfig) -> list[str]:
    """journalctl and the flags that select the journal (no entry matches)."""
    args = [exe, "--no-pager", "-q"]
    if cfg.directory is not None:
        args.append(f"--directory={cfg.directory}")
    return args


def follow_args(exe: str, cfg: JournaldSourceConfig, after: str | None, follow: bool) -> list[str]:
    """The reading command: after the cursor `after`, or from the oldest entry (None)."""
    args = [*base_args(exe, cfg), "-o", "json", "--all"]
    if follow:
        args.append("--follow")
    # --no-tail in both cases: `--follow` implies `-n 10` even with --after-cursor
    # (systemd 252), which would skip all but the last 10 entries after the cursor
    args.append("--no-tail")
    if after:
        args.append(f"--after-cursor={after}")
    return args + cfg.matches()


def cursor_of(line: bytes) -> str | None:
    """The `__CURSOR` of one JSON line of journalctl, found without decoding the line
    (a cursor holds no quote or backslash); decoded as a fallback."""
    i = line.find(_CURSOR_KEY)
    if i >= 0:
        start = i + len(_CURSOR_KEY)
        end = line.find(b'"', start)
        if end > start:
            return line[start:end].decode("ascii", "replace")
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    cursor = value.get("__CURSOR") if isinstance(value, dict) else None
    return cursor if isinstance(cursor, str) else None


def cursor_fields(cursor: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in cursor.split(";") if "=" in part)


def same_entry(a: str, b: str) -> bool:
    """Whether two cursors name the same entry (by series and number when both have them)."""
    fa, fb = cursor_fields(a), cursor_fields(b)
    if "s" in fa and "i" in fa and "s" in fb and "i" in fb:
        return (fa["s"], fa["i"]) == (fb["s"], fb["i"])
    return a == b


def skipped_between(before: str, after: str) -> int | None:
    """Entries of the journal strictly between two cursors of one sequence series (the
    gap in sequence numbers), None when that cannot be known (another series: the journal
    files were replaced, not vacuumed)."""
    fa, fb = cursor_fields(before), cursor_fields(after)
    if fa.get("s") is None or fa.get("s") != fb.get("s"):
        return None
    try:
        return max(0, int(fb["i"], 16) - int(fa["i"], 16) - 1)
    except (KeyError, ValueError):
        return None


def _first_cursor(args: list[str]) -> tuple[str | None, str]:
    """The cursor of the first line journalctl prints (None: no entry), and its stderr.
    Raises OSError when it cannot run or fails."""
    proc = subprocess.run(args, capture_output=True, timeout=PROBE_TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL)
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 and not proc.stdout:
        raise OSError(f"journalctl exited with {proc.returncode}: {err or 'no reason given'}")
    first = proc.stdout.split(b"\n", 1)[0]
    return (cursor_of(first) if first else None), err


def cursor_exists(exe: str, cfg: JournaldSourceConfig, cursor: str) -> tuple[bool, str | None]:
    """Whether the entry at `cursor` is still in the journal, and the first entry at or
    after where it was (its cursor, None: none). A cursor journalctl refuses (a damaged
    checkpoint) counts as gone. No matches are given: the probe asks about the entry, not
    about the current filters."""
    args = [*base_args(exe, cfg), "-o", "json", "--output-fields=__CURSOR", f"--cursor={cursor}",
            "-n", "1"]
    try:
        found, _ = _first_cursor(args)
    except OSError:
        return False, None
    return (found is not None and same_entry(found, cursor)), found


def tail_cursor(exe: str, cfg: JournaldSourceConfig) -> str | None:
    """The cursor of the journal's newest entry (None: the journal is empty): where
    `start_at = "end"` begins. Raises OSError when journalctl fails."""
    args = [*base_args(exe, cfg), "-o", "json", "--output-fields=__CURSOR", "-n", "1"]
    return _first_cursor(args)[0]
