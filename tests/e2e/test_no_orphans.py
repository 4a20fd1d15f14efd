"""No process of logproc's survives it (issue: "orphaned worker at 100 % CPU"). At the
shutdown deadline the pool used to kill a stuck worker, then log "restarting it and
sending the batch again", start a fresh worker with the same batch and exit 1, leaving
that worker behind with parent pid 1."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, run_once, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _tagged(tag: str) -> list[int]:
    """Every process whose environment carries `tag` (logproc and its workers)."""
    pids = []
    needle = f"LOGPROC_TEST_TAG={tag}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(name))
        except OSError:
            continue
    return pids


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            continue
    return kids


def _rchar(pid: int) -> int:
    with open(f"/proc/{pid}/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def _config(write_config, timeout: float) -> Path:
    return write_config(
        f"""
        [daemon]
        state_dir = "{{work}}/state"
        metrics_address = ""
        watch_config = false
        workers = 1
        consumers = 1
        shutdown_timeout = {timeout}

        [sources.app]
        paths = ["{{work}}/logs/*.log"]
        parser = "logfmt"

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.jsonl"
        format = "json"
        """
    )


def test_a_stuck_worker_is_killed_at_the_deadline_and_never_replaced(work, write_config):
    """A worker that stops answering mid-batch (SIGSTOP: a stuck process, as the daemon sees
    it); SIGTERM: exit 1 at `shutdown_timeout`, the batch is not sent to a fresh worker,
    and no process carrying the daemon's environment is left. A restart then delivers
    every line exactly once."""
    tag = uuid.uuid4().hex
    config = _config(write_config, timeout=2)
    log = LogWriter(work / "logs" / "app.log")
    log.write(numbered(0, 1000))
    out = work / "out" / "all.jsonl"
    with Daemon(config, env={"LOGPROC_TEST_TAG": tag}) as d:
        d.wait_started()
        wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") >= 1000, 20, what="first lines")
        workers = wait_for(lambda: _children(d.pid), 10, what="the worker process")
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGSTOP)
        before = _rchar(d.pid)
        more = numbered(1000, 5000)
        log.write(more)  # its next batch goes to the stopped worker
        wait_for(lambda: _rchar(d.pid) >= before + len(more), 10, what="the daemon to read the new lines")
        started = time.monotonic()
        d.signal(signal.SIGTERM)
        code = d.wait(10)
        took = time.monotonic() - started
        text = d.log()
    assert code == 1, text
    assert took < 5, f"exit took {took:.1f}s with shutdown_timeout = 2"
    assert "restarting it and sending the batch again" not in text
    assert '"event":"shutdown timeout passed; checkpoints cover what was delivered"' in text
    wait_for(lambda: not _tagged(tag), 5, what="every process of the daemon to be gone")
    result = run_once(config)
    assert result.returncode == 0, result.stderr.decode()
    check_sequence(out.read_bytes(), 6000)


def test_workers_die_with_a_killed_daemon(work, write_config):
    """SIGKILL of the daemon (nobody closes the pipes in order): its workers end too."""
    tag = uuid.uuid4().hex
    config = _config(write_config, timeout=5)
    LogWriter(work / "logs" / "app.log").write(numbered(0, 100))
    out = work / "out" / "all.jsonl"
    with Daemon(config, env={"LOGPROC_TEST_TAG": tag}) as d:
        d.wait_started()
        # a batch went through the worker: it is past its start-up (where it asks the kernel
        # to end it with its parent)
        wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") == 100, 10, what="the lines")
        workers = wait_for(lambda: _children(d.pid), 10, what="the worker process")
        os.kill(workers[0], signal.SIGSTOP)  # a stopped worker never reads its end of input
        d.kill()
    # SIGKILL is delivered to a stopped process too
    wait_for(lambda: not _tagged(tag), 5, what="the worker to die with the daemon")
