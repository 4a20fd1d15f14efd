"""Helpers for the tailing fault scenarios: configs, output checks, fault injection.

Every scenario runs the real `logproc` command on real files in the `work` folder, writes
numbered lines (`logproc.testing.numbered`) and judges the delivered output with the
numbered-line oracle (`check_sequence`). The helpers here add:

- `config`: a config whose file sink writes the lines exactly as read (`format = "raw"`);
- `wait_seqs` / `exact`: wait (with a deadline) until given numbers are delivered, and the
  strict check after a graceful stop (each number once, no other line);
- `frozen`: SIGSTOP/SIGCONT around a fault, so the fault deterministically happens
  "before logproc catches up" (lines written after the last read, rotations in a burst);
- `GatedSink`: the file sink writes into a FIFO that a thread copies to the output file
  only while its gate is open: a sink the test can block, for deterministic backpressure
  (a stop in the middle of a file, bytes the daemon has seen but not read);
- `events` / `source_stats`: the daemon's own log (stderr, one JSON object per line);
- `create_with_inode`, `open_inodes`, `logrotate`: inode reuse, descriptors held by the
  daemon, and the real logrotate program.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import re
import select
import shutil
import signal
import subprocess
import termios
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from logproc.testing import Daemon, LogWriter, NotifySocket, SeqReport, check_sequence, wait_for

SEQ = re.compile(rb"seq=(\d+)")
NUMBERED_LINE = re.compile(rb"seq=\d+ [^\n]*")
DEADLINE = 10.0  # seconds any single expected delivery may take (the stat pass runs every 1 s)
STAT_FIELDS = ("lines_read", "bytes_read", "bytes_acked", "bytes_lost_truncated", "bytes_lost_gone")


# -- config ------------------------------------------------------------------------------
def config(work: Path, paths: Iterable[str] = ("logs/*.log",), *, source: str = "", daemon: str = "",
           sink_path: str | os.PathLike[str] | None = None, fmt: str = "raw", name: str = "logproc.toml") -> Path:
    """One source `app` over `paths` (relative to `work`) and one file sink `out`."""
    globs = ", ".join(f'"{work / p}"' for p in paths)
    sink = sink_path or work / "out" / "all.log"
    text = (
        "[daemon]\n"
        f'state_dir = "{work}/state"\n'
        'metrics_address = ""\n'
        "watch_config = false\n"
        "checkpoint_interval = 0.2\n"
        f"{daemon}\n\n"
        "[sources.app]\n"
        f"paths = [{globs}]\n"
        f"{source}\n\n"
        "[sinks.out]\n"
        'type = "file"\n'
        f'path = "{sink}"\n'
        f'format = "{fmt}"\n'
    )
    path = work / name
    path.write_text(text)
    return path


# -- reading the delivered output ----------------------------------------------------------
def complete(path: Path) -> bytes:
    """The complete lines of a file (a line being written is not complete yet)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    return data[: data.rfind(b"\n") + 1]


def seq_counts(data: bytes) -> Counter[int]:
    return Counter(int(m) for m in SEQ.findall(data))


def _want(expected: Iterable[int] | int) -> set[int]:
    return set(range(expected)) if isinstance(expected, int) else set(expected)


def summary(data: bytes, expected: Iterable[int] | int) -> str:
    """The oracle's report, never raising."""
    want = _want(expected)
    try:
        return check_sequence(data, want, allow_missing=len(want), allow_dups=10**9).summary()
    except AssertionError as exc:  # unexpected numbers
        return str(exc)


def wait_seqs(out: Path, expected: Iterable[int] | int, timeout: float = DEADLINE,
              daemon: Daemon | None = None) -> None:
    """Wait until every number in `expected` has been delivered to `out` (at least once)."""
    want = _want(expected)

    def present() -> bool:
        return want <= seq_counts(complete(out)).keys()

    try:
        wait_for(present, timeout, 0.05, what=f"{len(want)} numbered lines")
    except AssertionError as exc:
        tail = "\n".join(daemon.log().splitlines()[-15:]) if daemon else ""
        raise AssertionError(f"{exc}: {summary(complete(out), want)}\n{tail}") from None


def only_numbered(data: bytes) -> None:
    """Every delivered line is one of the numbered lines written (nothing else was read)."""
    bad = [line for line in data.split(b"\n")[:-1] if not NUMBERED_LINE.fullmatch(line)]
    assert not bad, f"{len(bad)} delivered lines are not numbered lines, e.g. {[b[:48] for b in bad[:3]]!r}"


def exact(out: Path, expected: Iterable[int] | int, numbered_only: bool = True) -> SeqReport:
    """After a graceful stop: each number exactly once, nothing missing, no other line."""
    data = complete(out)
    report = check_sequence(data, expected)
    if numbered_only:
        only_numbered(data)
    return report


def stop_ok(d: Daemon) -> None:
    rc = d.stop()
    assert rc == 0, f"logproc exited {rc}:\n{d.log()[-3000:]}"


def deliver(cfg: Path, out: Path, expected: Iterable[int] | int, **wait: Any) -> Daemon:
    """Run logproc on `cfg` until `expected` is delivered to `out`, then stop it gracefully
    (exit 0 expected). Returns the stopped daemon, for its log."""
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, expected, daemon=d, **wait)
        stop_ok(d)
    return d


# -- the daemon's own log ------------------------------------------------------------------
def events(d: Daemon | str) -> list[dict[str, Any]]:
    text = d if isinstance(d, str) else d.log()
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError):
                found.append(orjson.loads(line))
    return found


def named(d: Daemon | str, event: str, **fields: Any) -> list[dict[str, Any]]:
    return [e for e in events(d) if e.get("event") == event
            and all(e.get(k) == v for k, v in fields.items())]


def source_stats(d: Daemon | str, source: str = "app") -> dict[str, Any]:
    """The one `source stats` event of a stopped daemon for `source`, with integer fields."""
    found = named(d, "source stats", source=source)
    assert len(found) == 1, f"expected one 'source stats' event for {source!r}, got {len(found)}"
    stats = found[0]
    for key in STAT_FIELDS:
        assert isinstance(stats.get(key), int), f"'source stats' field {key!r} is {stats.get(key)!r}"
    return stats


def lost(d: Daemon | str, reason: str) -> list[dict[str, Any]]:
    return named(d, "bytes lost", reason=reason)


# -- fault injection -----------------------------------------------------------------------
def _proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


@contextlib.contextmanager
def frozen(d: Daemon) -> Iterator[None]:
    """Stop logproc (SIGSTOP) for the duration: whatever happens inside happens before it
    reads another byte or looks at another file."""
    os.kill(d.pid, signal.SIGSTOP)
    wait_for(lambda: _proc_state(d.pid) in ("T", "t"), 5, 0.005, what="logproc to be stopped")
    try:
        yield
    finally:
        if d.proc.poll() is None:  # not killed inside
            os.kill(d.pid, signal.SIGCONT)


def ino(path: Path) -> int:
    return os.stat(path).st_ino


def rename_rotate(path: Path, to: Path) -> LogWriter:
    """rename+create as an application's log library does it; the caller's old writer keeps
    its descriptor on the rotated file. Returns the writer of the new file."""
    os.rename(path, to)
    return LogWriter(path)


def create_with_inode(path: Path, inode: int, tries: int = 40) -> None:
    """Create an empty `path` that gets inode number `inode` (freed just before). A create
    that gets another number is moved aside (kept, so the allocator moves on) and retried."""
    aside = []
    for i in range(tries):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        if ino(path) == inode:
            break
        hold = path.with_name(f".hold-{i}.tmp")
        os.rename(path, hold)
        aside.append(hold)
    else:
        raise AssertionError(f"could not get inode {inode} back after {tries} creates")
    for hold in aside:
        hold.unlink()
    assert ino(path) == inode


def open_inodes(pid: int) -> set[tuple[int, int]]:
    """(device, inode) of every file the process holds open."""
    held = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            st = os.stat(fd_dir / fd)
            held.add((st.st_dev, st.st_ino))
    return held


def open_under(pid: int, folder: Path) -> list[str]:
    """Targets of the process's descriptors inside `folder` (deleted ones included)."""
    found = []
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            target = os.readlink(fd_dir / fd)
            if target.startswith(f"{folder}/"):
                found.append(target)
    return found


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def logrotate(work: Path, directives: str, target: str = "logs/app.log") -> None:
    """Run the real logrotate once, forced, with its own state file and this config."""
    exe = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert os.path.exists(exe), "logrotate is not installed (test.sh installs the Debian package)"
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    body = "\n".join(f"    {d.strip()}" for d in directives.strip().splitlines())
    conf = work / "lr.conf"
    conf.write_text(f"{work / target} {{\n    su {user} {group}\n{body}\n}}\n")
    r = subprocess.run([exe, "-s", str(work / "lr.state"), "-f", str(conf)], capture_output=True,
                       timeout=30, check=False)
    assert r.returncode == 0, f"logrotate failed: {r.stderr.decode(errors='replace')}"


class GatedSink:
    """A FIFO at the file sink's path; a thread copies it into `out` while the gate is
    open. With the gate closed the sink cannot write: the pipe fills, the queue fills and
    the watcher stops reading. The pipe is shrunk to one page so little sits in it."""

    F_SETPIPE_SZ = 1031
    F_GETPIPE_SZ = 1032

    def __init__(self, fifo: Path, out: Path, held: bool = False) -> None:
        os.mkfifo(fifo, 0o666)
        self.fifo = fifo
        self.rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.rfd, self.F_SETPIPE_SZ, 4096)
        self.capacity = fcntl.fcntl(self.rfd, self.F_GETPIPE_SZ)
        self.out = open(out, "ab")  # noqa: SIM115 - closed in close()
        self.gate = threading.Event()
        if not held:
            self.gate.set()
        self.idle = threading.Event()  # set while the pump is not reading
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        while not self._stop.is_set():
            if not self.gate.is_set():
                self.idle.set()
                self.gate.wait(0.05)
                continue
            self.idle.clear()
            ready, _, _ = select.select([self.rfd], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.rfd, 65536)
            except BlockingIOError:
                continue
            if data:
                self.out.write(data)
                self.out.flush()
            else:  # no writer at the moment (logproc not running)
                self._stop.wait(0.01)

    def hold(self) -> None:
        """Close the gate: the sink blocks from now on."""
        self.gate.clear()
        wait_for(self.idle.is_set, 5, 0.005, what="the sink pump to pause")

    def release(self) -> None:
        self.gate.set()

    def pending(self) -> int:
        """Bytes written by logproc into the pipe and not yet taken out."""
        buf = fcntl.ioctl(self.rfd, termios.FIONREAD, b"\0\0\0\0")
        return int.from_bytes(buf, "little")

    def wait_full(self, timeout: float = 10.0) -> None:
        """Wait (gate closed) until the pipe is full: logproc has read lines and is blocked."""
        assert not self.gate.is_set(), "the gate is open"
        wait_for(lambda: self.pending() >= self.capacity, timeout, 0.005,
                 what="the blocked sink's pipe to fill")

    def close(self) -> None:
        self.gate.set()
        self._stop.set()
        self.thread.join(5)
        os.close(self.rfd)
        self.out.close()

    def __enter__(self) -> GatedSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def graceful_stop_while_blocked(d: Daemon, sink: GatedSink, notify: NotifySocket) -> None:
    """SIGTERM while the sink is blocked; release it once logproc says it is stopping (it has
    stopped reading), then expect exit 0."""
    d.signal(signal.SIGTERM)
    wait_for(lambda: b"STOPPING=1" in notify.received(), 10, 0.005, what="STOPPING=1 from logproc")
    sink.release()
    rc = d.wait(30)
    assert rc == 0, f"logproc exited {rc}:\n{d.log()[-3000:]}"
