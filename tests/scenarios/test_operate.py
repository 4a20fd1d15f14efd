"""Operating logproc's own output and shutdown: SIGUSR1 reopens file sinks (by hand and with
the real logrotate and the shipped snippet), a sink that never answers makes a SIGTERM exit
1 at `shutdown_timeout`, a second SIGTERM stops at once; after each, a restart with a
working sink delivers every line, with checkpoints covering exactly what was delivered."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, wait_for

from .support import GatedSink, NotifySocket, config, deliver, stop_ok, wait_seqs

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
REPO = Path(__file__).resolve().parents[2]


def both(*paths: Path) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def test_sigusr1_after_renaming_the_output_writes_a_new_file_at_the_path(work):
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 1000))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        os.rename(out, out.with_name("all.log.1"))
        d.signal(signal.SIGUSR1)
        wait_for(out.exists, 10, what="the file sink to reopen at its path")
        w.write(numbered(1000, 1000))
        wait_seqs(out, range(1000, 2000), daemon=d)
        stop_ok(d)
    check_sequence(out.with_name("all.log.1").read_bytes(), 1000)  # the old file: only the first half
    check_sequence(out.read_bytes(), range(1000, 2000))  # the new one: only the second
    w.close()


def test_real_logrotate_with_the_shipped_snippet(work):
    """The shipped `systemd/logrotate.conf`, with its paths pointed at this test's output and
    its `postrotate` signalling this logproc (not the systemd unit, which is not running
    here); `delaycompress` keeps `all.log.1` plain."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 1000))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        snippet = (REPO / "systemd" / "logrotate.conf").read_text()
        snippet = snippet.replace("/var/log/logproc/*.log /var/log/logproc/*.jsonl", str(out))
        snippet, n = re.subn(r"systemctl kill --signal=SIGUSR1 --kill-whom=main logproc\.service",
                             f"kill -USR1 {d.pid}", snippet)
        assert n == 1, "the snippet's postrotate command changed: update this test"
        user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        snippet = snippet.replace("{\n", f"{{\n    su {user} {group}\n", 1)
        conf = work / "lr.conf"
        conf.write_text(snippet)
        exe = shutil.which("logrotate") or "/usr/sbin/logrotate"
        r = subprocess.run([exe, "-s", str(work / "lr.state"), "-f", str(conf)], capture_output=True,
                           timeout=30, check=False)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        assert out.with_name("all.log.1").exists(), "logrotate did not rotate"
        wait_for(out.exists, 10, what="the file sink to reopen at its path")
        w.write(numbered(1000, 1000))
        wait_seqs(out, range(1000, 2000), daemon=d)
        stop_ok(d)
    check_sequence(out.with_name("all.log.1").read_bytes(), 1000)
    check_sequence(out.read_bytes(), range(1000, 2000))
    w.close()


def stop_while_blocked_then_restart(work: Path, timeout: float, stop: Callable[[Daemon, NotifySocket], None]) -> None:
    """20,000 lines, a file sink that is a FIFO nobody reads (logproc blocks in a write),
    `stop` the daemon (it must exit 1), then release the sink and restart: nothing lost;
    repeated at most what the aborted write had pushed into the pipe (never acknowledged,
    so sent again) — the checkpoints never passed an unwritten line."""
    cfg = config(work, daemon=f"shutdown_timeout = {timeout}\nqueue_size = 200",
                 sink_path=work / "out" / "sink.fifo")
    out, n = work / "out" / "all.log", 20_000
    (work / "logs" / "app.log").write_bytes(numbered(0, n, pad=60))
    notify = NotifySocket(work / "notify.sock")
    with GatedSink(work / "out" / "sink.fifo", out, held=True) as sink:
        with Daemon(cfg, env=notify.env) as d:
            d.wait_started()
            sink.wait_full()
            stop(d, notify)
        sink.release()
        deliver(cfg, out, n, timeout=30)
    check_sequence(out.read_bytes(), n, allow_dups=sink.capacity // 60)
    notify.close()


def test_sink_that_never_answers_exit_1_at_shutdown_timeout_then_nothing_lost(work):
    def sigterm(d: Daemon, notify: NotifySocket) -> None:
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.wait(10) == 1
        took = time.monotonic() - t0
        assert took < 3.0, f"took {took:.1f}s with shutdown_timeout = 2"
        assert "shutdown timeout passed" in d.log()

    stop_while_blocked_then_restart(work, 2, sigterm)


def test_second_sigterm_stops_at_once_with_consistent_checkpoints(work):
    def two_sigterms(d: Daemon, notify: NotifySocket) -> None:
        d.signal(signal.SIGTERM)
        wait_for(lambda: b"STOPPING=1" in notify.received(), 10, 0.005, what="STOPPING=1")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.wait(10) == 1
        assert time.monotonic() - t0 < 2.0
        assert "second signal" in d.log()

    stop_while_blocked_then_restart(work, 30, two_sigterms)
