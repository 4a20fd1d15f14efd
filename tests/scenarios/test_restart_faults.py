"""Stops and crashes around faults (catalogue S17, S20, S28, S29, S37, S38): graceful stops
in the middle of a file and while a rotated file is held, SIGKILL mid-delivery and with an
unfinished rotated file, partial lines and CRLF across restarts, many files over few
descriptors."""

from __future__ import annotations

import signal
import time

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, wait_for

from .support import (
    DEADLINE,
    GatedSink,
    NotifySocket,
    complete,
    config,
    deliver,
    exact,
    frozen,
    graceful_stop_while_blocked,
    ino,
    open_under,
    rename_rotate,
    seq_counts,
    source_stats,
    stop_ok,
    wait_seqs,
)

pytestmark = pytest.mark.e2e


def test_graceful_stop_mid_file_resumes_exactly_once(work):
    """SIGTERM while a large file is half delivered (sink blocked), then start: the second run
    resumes where delivery stopped, every line exactly once, and the two runs' `bytes_acked`
    add up to the file's size."""
    logs, out = work / "logs", work / "out" / "all.log"
    n = 150_000
    data = numbered(0, n, pad=80)
    (logs / "app.log").write_bytes(data)
    cfg = config(work, daemon="queue_size = 100", sink_path=work / "out" / "sink.fifo")
    notify = NotifySocket(work / "notify.sock")
    with GatedSink(work / "out" / "sink.fifo", out, held=True) as sink:
        with Daemon(cfg, env=notify.env, log_path=work / "run1.log") as d1:
            d1.wait_started()
            sink.wait_full()  # logproc has read lines and is blocked
            graceful_stop_while_blocked(d1, sink, notify)
        first = complete(out)
        k = first.count(b"\n")
        assert 0 < k < n, f"the stop was not in the middle of the file ({k} of {n} delivered)"
        check_sequence(first, k)  # a prefix, each line once
        with Daemon(cfg, log_path=work / "run2.log") as d2:
            d2.wait_started()
            wait_seqs(out, n, timeout=30, daemon=d2)
            stop_ok(d2)
    exact(out, n)
    s1, s2 = source_stats(d1), source_stats(d2)
    assert s1["bytes_acked"] == len(first)
    assert s1["bytes_acked"] + s2["bytes_acked"] == len(data)
    assert s1["bytes_lost_truncated"] == s1["bytes_lost_gone"] == s2["bytes_lost_gone"] == 0
    notify.close()


def test_sigkill_mid_delivery_loses_nothing(work):
    """SIGKILL while a large file is half delivered (sink blocked), then start: nothing is
    missing; duplicates are allowed and reported."""
    logs, out = work / "logs", work / "out" / "all.log"
    n = 150_000
    (logs / "app.log").write_bytes(numbered(0, n, pad=80))
    cfg = config(work, daemon="queue_size = 100", sink_path=work / "out" / "sink.fifo")
    with GatedSink(work / "out" / "sink.fifo", out, held=True) as sink:
        with Daemon(cfg) as d:
            d.wait_started()
            sink.wait_full()  # logproc has read lines and is blocked
            assert d.kill() == -signal.SIGKILL
        sink.release()
        wait_for(lambda: sink.pending() == 0, DEADLINE, what="the pipe to drain")
        k = len(seq_counts(complete(out)))
        assert k < n, "everything was delivered before the kill"
        d = deliver(cfg, out, n, timeout=30)
    report = check_sequence(complete(out), n, allow_dups=n)
    print(f"SIGKILL after {k} of {n} lines: {report.summary()}")
    assert not report.missing


def test_sigkill_with_unfinished_rotated_file_loses_nothing(work):
    """Rename rotation with writes to both files, then SIGKILL before logproc read any of it,
    then start: the rotated `app.log.1` (not matched by the glob) is found by inode and read
    from its checkpoint, the new file from its start; nothing missing, duplicates reported."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 500, "gen0", pad=20))
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, 500, daemon=d)
        wait_for(lambda: _checkpoint_mentions(work, "app.log"), DEADLINE, what="a checkpoint commit")
        with frozen(d):
            ino0 = ino(logs / "app.log")
            w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
            w0.write(numbered(500, 200, "gen0-late"))
            w1.write(numbered(700, 300, "gen1"))
            assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
            assert d.kill() == -signal.SIGKILL
    d = deliver(cfg, out, 1000)
    report = check_sequence(complete(out), 1000, allow_dups=1000)
    print(f"SIGKILL with an unfinished rotation: {report.summary()}")
    assert not report.missing
    w0.close()
    w1.close()


def _checkpoint_mentions(work, name: str) -> bool:
    """Some file in the state folder (the checkpoints) records the file's path."""
    return any(name.encode() in p.read_bytes() for p in (work / "state").rglob("*") if p.is_file())


def test_graceful_stop_while_rotated_file_held_open(work):
    """Graceful stop within the 5 s rotate-wait of a rename rotation, then the old writer adds
    lines to `app.log.1` and the new one to `app.log` while stopped, then start: every line of
    both generations exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 100, "gen0"))
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        ino0 = ino(logs / "app.log")
        rotated_at = time.monotonic()
        w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
        w1.write(numbered(100, 100, "gen1"))
        w0.write(numbered(200, 10, "gen0-late"))
        assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
        wait_seqs(out, 210, daemon=d)
        stop_ok(d)
        assert time.monotonic() - rotated_at < 5, "the stop came after the rotate-wait"
    w0.write(numbered(210, 50, "gen0-while-stopped"))
    w1.write(numbered(260, 40, "gen1-while-stopped"))
    d = deliver(cfg, out, 300)
    exact(out, 300)
    w0.close()
    w1.close()


def test_partial_last_line_completed_across_restart(work):
    """A last line without its newline is held (not delivered, not checkpointed past) through a
    graceful stop; after its end is appended and logproc restarts it arrives once, whole."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(b"seq=0 complete\nseq=1 partial")  # one write: the partial bytes are read with seq=0
    deliver(cfg, out, 1)
    assert out.read_bytes() == b"seq=0 complete\n"
    w.write(b" line\n" + numbered(2, 10))
    deliver(cfg, out, 12)
    assert out.read_bytes() == b"seq=0 complete\nseq=1 partial line\n" + numbered(2, 10)
    w.close()


def test_crlf_and_empty_lines_across_restart(work):
    """`\\r\\n` endings lose the `\\r`, empty and `\\r\\n`-only lines are skipped, and a `\\r\\n`
    split by a restart (the `\\r` before the stop, the `\\n` after) still ends one line: the
    output is exactly the numbered lines, once each."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(b"seq=0 a\r\n\r\n\nseq=1 b\r\n\n\r\nseq=2 c\r")
    deliver(cfg, out, 2)
    assert out.read_bytes() == b"seq=0 a\nseq=1 b\n"
    w.write(b"\n\r\nseq=3 d\r\n\r\n\n")
    deliver(cfg, out, 4)
    assert out.read_bytes() == b"seq=0 a\nseq=1 b\nseq=2 c\nseq=3 d\n"
    w.close()


def test_many_files_with_max_open_files_16(work):
    """200 files under one glob with `max_open_files = 16`: all written, then more lines
    appended to each while running and while stopped; idle files are closed and reopened by
    identity: every line exactly once, and never more than 16 log files open."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work, daemon="max_open_files = 16")
    files = [logs / f"f{i:03d}.log" for i in range(200)]

    def write_round(r: int) -> None:
        for i, path in enumerate(files):
            with open(path, "ab") as f:
                f.write(numbered(i * 100 + r * 5, 5, f"f{i:03d}-round{r}"))

    def expected(rounds: int) -> set[int]:
        return {i * 100 + j for i in range(200) for j in range(rounds * 5)}

    peak = 0

    def delivered(rounds: int, d: Daemon) -> bool:
        nonlocal peak
        peak = max(peak, len(open_under(d.pid, logs)))
        return expected(rounds) <= seq_counts(complete(out)).keys()

    write_round(0)
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: delivered(1, d), 20, 0.05, what="the first round of 200 files")
        write_round(1)
        wait_for(lambda: delivered(2, d), 20, 0.05, what="the second round of 200 files")
        stop_ok(d)
    write_round(2)
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: delivered(3, d), 20, 0.05, what="the third round of 200 files")
        stop_ok(d)
    exact(out, expected(3))
    assert peak <= 16, f"logproc held {peak} log files open at once (max_open_files = 16)"
