"""The daemon's stderr going away (its reader died; the journal restarting) does not stop a
drain half-way: the config fuzz test once left a `run` that could not exit, its main
thread killed by EPIPE in a log call while every other thread waited for it."""

from __future__ import annotations

import signal
import subprocess

import pytest

from logproc.testing import LogWriter, check_sequence, logproc_cmd, numbered, run_once, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_sigterm_after_stderr_closed_still_stops_and_commits(work, write_config):
    LogWriter(work / "logs" / "app.log").write(numbered(0, 500))
    out = work / "out" / "all.log"
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.out]
        type = "file"
        path = "{work}/out/all.log"
        format = "raw"
        """
    )
    proc = subprocess.Popen([*logproc_cmd(), "run", "-c", str(config)], stderr=subprocess.PIPE)
    wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") == 500, 20, what="the lines")
    assert proc.stderr is not None
    proc.stderr.close()  # nobody reads the daemon's log any more
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert run_once(config).returncode == 0  # nothing left to read: the stop committed
    check_sequence(out.read_bytes(), 500)
