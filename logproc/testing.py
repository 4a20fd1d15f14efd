"""Test helpers shipped with the package (like `structlog.testing`): the numbered-line
oracle, a log writer that can rotate and truncate, and a harness that runs the real
`logproc` command.

The oracle follows rsyslog's `chkseq`: every written line carries `seq=<n>`; the checker
reports the numbers missing and those delivered more than once, and fails unless each is
within its budget (both default to zero).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEQ = re.compile(rb"seq=(\d+)")


# -- the numbered-line oracle ------------------------------------------------------------
@dataclass
class SeqReport:
    expected: int
    received: int
    missing: list[int] = field(default_factory=list)
    duplicated: dict[int, int] = field(default_factory=dict)  # seq -> extra copies
    unexpected: list[int] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(self.duplicated.values())

    def summary(self) -> str:
        def head(xs: Iterable[int]) -> str:
            xs = sorted(xs)
            return ", ".join(map(str, xs[:10])) + (" …" if len(xs) > 10 else "")

        return (f"expected {self.expected}, received {self.received}; missing {len(self.missing)}"
                f" [{head(self.missing)}]; duplicates {self.duplicates} [{head(self.duplicated)}];"
                f" unexpected {len(self.unexpected)} [{head(self.unexpected)}]")


def check_sequence(data: bytes | Iterable[bytes], expected: Iterable[int] | int,
                   allow_missing: int = 0, allow_dups: int = 0) -> SeqReport:
    """Check delivered output against the numbers written; raise AssertionError past budgets.

    `data` is the delivered output (bytes, or an iterable of byte chunks); `expected` is
    the set of numbers written, or N for 0..N-1.
    """
    if isinstance(data, bytes | bytearray):
        data = [bytes(data)]
    counts: Counter[int] = Counter()
    for chunk in data:
        counts.update(int(m) for m in SEQ.findall(chunk))
    want = set(range(expected)) if isinstance(expected, int) else set(expected)
    report = SeqReport(
        expected=len(want),
        received=sum(counts.values()),
        missing=sorted(want - counts.keys()),
        duplicated={k: c - 1 for k, c in counts.items() if c > 1},
        unexpected=sorted(counts.keys() - want),
    )
    if len(report.missing) > allow_missing or report.duplicates > allow_dups or report.unexpected:
        raise AssertionError(report.summary())
    return report


def numbered(start: int, count: int, tag: str = "", pad: int = 0) -> bytes:
    """Lines `seq=<n> <tag> <padding>\\n` for n in [start, start+count)."""
    filler = "x" * pad
    return "".join(f"seq={n} {tag} {filler}\n" for n in range(start, start + count)).encode()


# -- writing logs the way applications do -------------------------------------------------
class LogWriter:
    """Appends to a log file like an application: O_APPEND, one write per call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def rotate(self, to: str | os.PathLike[str]) -> None:
        """rename+create: the old name moves to `to`, writes go to a new file at the path."""
        os.rename(self.path, to)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def copytruncate(self, to: str | os.PathLike[str]) -> None:
        with open(self.path, "rb") as src, open(to, "wb") as dst:
            dst.write(src.read())
        os.truncate(self.path, 0)

    def close(self) -> None:
        os.close(self.fd)


# -- running the real command -------------------------------------------------------------
def logproc_cmd() -> list[str]:
    """The command under test: $LOGPROC_CMD, else this interpreter's `-m logproc`."""
    env = os.environ.get("LOGPROC_CMD")
    return env.split() if env else [sys.executable, "-m", "logproc"]


def wait_for(cond: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02,
             what: str = "condition") -> Any:
    """Poll `cond` until truthy (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Daemon:
    """A `logproc run` process with its stderr captured to a file."""

    def __init__(self, config: str | os.PathLike[str], *args: str, env: dict[str, str] | None = None,
                 stdout: Any = subprocess.DEVNULL, log_path: str | os.PathLike[str] | None = None,
                 wrap: list[str] | None = None) -> None:
        self.log_path = Path(log_path or f"{config}.stderr")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log_start = self._log.tell()  # this process's part of a shared log file
        self.proc = subprocess.Popen([*(wrap or []), *logproc_cmd(), "run", "-c", str(config), *args],
                                     stdout=stdout, stderr=self._log, env={**os.environ, **(env or {})})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """What this process wrote to stderr so far."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return f.read().decode(errors="replace")

    def wait_started(self, timeout: float = 20.0) -> None:
        def started() -> bool:
            text = self.log()
            return '"started"' in text or "event='started'" in text or self.proc.poll() is not None

        wait_for(started, timeout, what="logproc to start")
        if self.proc.poll() is not None:
            raise AssertionError(f"logproc exited with {self.proc.returncode}:\n{self.log()}")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        self.proc.kill()
        return self.wait(10)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is not None:
                self._log.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def run_once(config: str | os.PathLike[str], timeout: float = 120.0,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """`logproc run --once -c CONFIG`, captured."""
    return subprocess.run([*logproc_cmd(), "run", "--once", "-c", str(config)], capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)
