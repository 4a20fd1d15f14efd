"""Many files under one glob: descriptor exhaustion and scale (reliability research §3.2, §3.5).

- 2,000 files under `ulimit -n 256` (Filebeat's fd-exhaustion test): logproc must close
  idle files and reopen them by identity, so every line arrives exactly once, including
  lines appended to every file while it runs; its open descriptors never pass 256.
- 10,000 files with `run --once`: every line exactly once, one checkpoint per file, and no
  more log files open at once than `max_open_files` (default 1024).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import orjson
import pytest

from logproc.testing import Daemon, check_sequence, logproc_cmd, numbered, wait_for

pytestmark = pytest.mark.e2e

NOFILE = 256


def _config(write_config, extra: str = "") -> Path:
    return write_config(
        f"""
        [daemon]
        state_dir = "{{work}}/state"
        metrics_address = ""
        watch_config = false
        checkpoint_interval = 0.5
        {extra}

        [sources.app]
        paths = ["{{work}}/logs/*.log"]

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.log"
        format = "raw"
        """
    )


class FdSampler:
    """Samples a process's open descriptors (all, and those on files under `logs`)."""

    def __init__(self, pid: int, logs: Path, interval: float = 0.01) -> None:
        self.pid = pid
        self.logs = str(logs) + os.sep
        self.interval = interval
        self.max_total = 0
        self.max_logs = 0
        self.samples = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        fd_dir = f"/proc/{self.pid}/fd"
        while not self._stop.is_set():
            try:
                names = os.listdir(fd_dir)
            except OSError:  # gone
                return
            logs = 0
            for name in names:
                try:
                    if os.readlink(f"{fd_dir}/{name}").startswith(self.logs):
                        logs += 1
                except OSError:
                    continue
            self.max_total = max(self.max_total, len(names))
            self.max_logs = max(self.max_logs, logs)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> FdSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(5)


class SeqCounter:
    """Distinct sequence numbers delivered so far, read incrementally from the output."""

    def __init__(self, path: Path, total: int) -> None:
        self.path = path
        self.pos = 0
        self.rest = b""
        self.seen = bytearray(total)
        self.distinct = 0

    def __call__(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return 0
        self.pos += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        for line in data[:cut].splitlines():
            try:
                n = int(line.split(b" ", 1)[0][4:])
            except ValueError:
                continue  # not a numbered line: check_sequence reports the output as a whole
            if 0 <= n < len(self.seen) and not self.seen[n]:
                self.seen[n] = 1
                self.distinct += 1
        return self.distinct


def _log_summary(text: str) -> str:
    errors = [line for line in text.splitlines() if '"error"' in line or "[error" in line]
    return (f"{len(errors)} error lines in logproc's log; 'Too many open files' x{text.count('Too many open files')};"
            f" first errors:\n" + "\n".join(errors[:5]))


@pytest.mark.timeout(180)
def test_2000_files_under_256_descriptors(work, write_config):
    """2,000 files, `prlimit --nofile=256:256`: every line exactly once, before and after
    appending to every file while running; never more than 256 descriptors."""
    files, per_phase = 2000, 5
    config = _config(write_config)
    logs = work / "logs"
    out = work / "out" / "all.log"
    # file i holds seq i*10 .. i*10+4 at start, i*10+5 .. i*10+9 appended while running
    for i in range(files):
        (logs / f"f{i:04d}.log").write_bytes(numbered(i * 10, per_phase, tag=f"f{i}"))
    total = files * 10
    counter = SeqCounter(out, total)
    with Daemon(config, log_path=work / "daemon.log", wrap=["prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"]) as d:
        with FdSampler(d.pid, logs) as fds:
            d.wait_started(timeout=60)

            def delivered(n: int) -> bool:
                assert d.proc.poll() is None, f"logproc exited with {d.proc.returncode}\n{_log_summary(d.log())}"
                return counter() >= n

            try:
                wait_for(lambda: delivered(files * per_phase), 45, 0.1, what="the first 5 lines of every file")
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {counter.distinct} of {files * per_phase} delivered;"
                                     f" {_log_summary(d.log())}") from None
            for i in range(files):
                with open(logs / f"f{i:04d}.log", "ab") as f:
                    f.write(numbered(i * 10 + per_phase, per_phase, tag=f"f{i}"))
            try:
                wait_for(lambda: delivered(total), 45, 0.1, what="the lines appended to every file")
            except AssertionError as exc:
                missing = [n for n in range(total) if not counter.seen[n]]
                raise AssertionError(f"{exc}: {counter.distinct} of {total} delivered; missing e.g. {missing[:10]}"
                                     f" (files {sorted({n // 10 for n in missing})[:10]});"
                                     f" {_log_summary(d.log())}") from None
            code = d.stop()
        assert code == 0, d.log()[-3000:]
    print(f"descriptors: max {fds.max_total} open, max {fds.max_logs} on log files ({fds.samples} samples)")
    assert fds.samples > 10
    assert fds.max_total <= NOFILE
    report = check_sequence(out.read_bytes(), total)
    assert report.received == total


@pytest.mark.timeout(180)
def test_10000_files_run_once(work, write_config):
    """10,000 files, `run --once`: every line exactly once, a checkpoint for every file, and
    at most `max_open_files` (1024 by default) log files open at a time."""
    files, per_file = 10_000, 3
    config = _config(write_config)
    logs = work / "logs"
    for i in range(files):
        (logs / f"f{i:05d}.log").write_bytes(numbered(i * per_file, per_file, tag=f"f{i}"))
    started = time.monotonic()
    with open(work / "once.log", "wb") as err:
        proc = subprocess.Popen([*logproc_cmd(), "run", "--once", "-c", str(config)],
                                stdout=subprocess.DEVNULL, stderr=err)
        with FdSampler(proc.pid, logs, interval=0.005) as fds:
            try:
                code = proc.wait(120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    elapsed = time.monotonic() - started
    log = (work / "once.log").read_text(errors="replace")
    print(f"run --once over {files} files: {elapsed:.1f}s; max {fds.max_total} descriptors,"
          f" max {fds.max_logs} on log files")
    assert code == 0, _log_summary(log)
    report = check_sequence((work / "out" / "all.log").read_bytes(), files * per_file)
    assert report.received == files * per_file
    doc = orjson.loads((work / "state" / "checkpoints.json").read_bytes())
    records = doc["files"]
    assert len(records) == files
    assert len({(r["dev"], r["ino"]) for r in records}) == files
    assert fds.max_logs <= 1024, f"{fds.max_logs} log files open at once (max_open_files = 1024)"
