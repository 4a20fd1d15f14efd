"""Truncation (catalogue S3, S4, S5, S8): copytruncate while running and while stopped, a
stale writer's NUL hole, in-place truncation with counted loss, rewrites longer than the
old offset."""

from __future__ import annotations

import os
import shutil

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered

from .support import (
    GatedSink,
    complete,
    config,
    deliver,
    exact,
    frozen,
    ino,
    lost,
    only_numbered,
    seq_counts,
    source_stats,
    stop_ok,
    wait_seqs,
    write_all,
)

pytestmark = pytest.mark.e2e


def test_copytruncate_while_running_recovers_lines_written_before_truncation(work):
    """copytruncate by hand (shutil.copy + os.truncate) right after lines logproc has not read
    yet: those lines are read from the copy `app.log.1` (not matched by the glob), nothing read
    before is repeated, lines after the truncation arrive; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100, pad=40))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        ino0 = ino(logs / "app.log")
        with frozen(d):
            w.write(numbered(100, 100, "unread", pad=40))
            shutil.copy(logs / "app.log", logs / "app.log.1")
            os.truncate(logs / "app.log", 0)
            assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size == 0
            assert seq_counts((logs / "app.log.1").read_bytes()).keys() == set(range(200))
        w.write(numbered(200, 20, "after"))
        wait_seqs(out, 220, daemon=d)
        stop_ok(d)
    exact(out, 220)
    w.close()


def test_copytruncate_with_stale_writer_leaves_no_nul_records(work):
    """copytruncate while a writer without O_APPEND keeps its offset, so its next line lands
    after a NUL-filled hole (the file never looks shorter): the unread lines come from the copy,
    every line exactly once, and no delivered record contains a NUL byte."""
    logs, out = work / "logs", work / "out" / "all.log"
    fd = os.open(logs / "app.log", os.O_WRONLY | os.O_CREAT, 0o644)  # no O_APPEND: a stale offset
    write_all(fd, numbered(0, 100))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        read_size = (logs / "app.log").stat().st_size
        with frozen(d):
            write_all(fd, numbered(100, 100, "unread"))
            shutil.copy(logs / "app.log", logs / "app.log.1")
            os.truncate(logs / "app.log", 0)
            hole = os.lseek(fd, 0, os.SEEK_CUR)
            write_all(fd, numbered(200, 10, "stale"))
            data = (logs / "app.log").read_bytes()
            assert data[:hole] == b"\0" * hole and hole > read_size  # a hole, and no shrink to see
        wait_seqs(out, 210, daemon=d)
        stop_ok(d)
    delivered = complete(out)
    check_sequence(delivered, 210)
    nuls = delivered.count(b"\0")
    assert nuls == 0, f"{nuls} NUL bytes delivered"
    only_numbered(delivered)
    os.close(fd)


def test_copytruncate_while_stopped_reads_copy_from_checkpoint(work):
    """Graceful stop, more lines, copy + truncate, new lines, start: the copy is read from the
    checkpoint only, the truncated file from its start; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100, pad=40))
    deliver(cfg, out, 100)
    ino0 = ino(logs / "app.log")
    w.write(numbered(100, 100, "unread", pad=40))
    shutil.copy(logs / "app.log", logs / "app.log.1")
    os.truncate(logs / "app.log", 0)
    w.write(numbered(200, 20, "after"))
    assert ino(logs / "app.log") == ino0 and ino(logs / "app.log.1") != ino0
    assert (logs / "app.log").stat().st_size < (logs / "app.log.1").stat().st_size
    deliver(cfg, out, 220)
    exact(out, 220)
    w.close()


def test_copytruncate_then_original_deleted_while_stopped_reads_copy_from_checkpoint(work):
    """Graceful stop, more lines, copy + truncate, then the original is deleted (a cleanup
    job), start: the checkpointed file is gone, but its copy holds the unread lines; they
    are read from the checkpoint, so every line exactly once and nothing counted lost."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100, pad=40))
    deliver(cfg, out, 100)
    w.write(numbered(100, 100, "unread", pad=40))
    shutil.copy(logs / "app.log", logs / "app.log.1")
    os.truncate(logs / "app.log", 0)
    w.close()
    os.unlink(logs / "app.log")
    assert sorted(p.name for p in logs.iterdir()) == ["app.log.1"]
    log_text = deliver(cfg, out, 200).log()
    exact(out, 200)
    assert "reading the rest from the copy" in log_text
    assert "bytes lost" not in log_text


def test_truncate_in_place_while_running_counts_unread_bytes_lost(work):
    """In-place truncation (no copy) while logproc is held back by a blocked sink: lines read
    before it are delivered once, the unread rest is missing and counted exactly (`bytes lost`,
    reason `truncated`, and `bytes_lost_truncated`), lines after it arrive exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    n = 150_000
    data = numbered(0, n, pad=80)  # ~15 MB: far more than the sink, queue and read-ahead hold
    (logs / "app.log").write_bytes(data)
    cfg = config(work, daemon="queue_size = 100", sink_path=work / "out" / "sink.fifo")
    with GatedSink(work / "out" / "sink.fifo", out, held=True) as sink, Daemon(cfg) as d:
        d.wait_started()  # the file is open: logproc knows its size
        sink.wait_full()  # logproc has read lines and is blocked
        ino0 = ino(logs / "app.log")
        os.truncate(logs / "app.log", 0)
        assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size == 0
        w = LogWriter(logs / "app.log")
        w.write(numbered(n, 50, "after"))
        sink.release()
        wait_seqs(out, range(n, n + 50), daemon=d)
        stop_ok(d)
    delivered = complete(out)
    old = [line for line in delivered.splitlines(keepends=True) if int(line.split()[0][4:]) < n]
    k = len(old)
    assert k < n, "the truncation came after everything was read: no loss to account for"
    check_sequence(delivered, set(range(k)) | set(range(n, n + 50)))  # a prefix, then the new lines
    only_numbered(delivered)
    expected_lost = len(data) - sum(map(len, old))
    events = lost(d, "truncated")
    assert events, f"no 'bytes lost' event with reason 'truncated' ({expected_lost} bytes were lost)"
    assert {e.get("path") for e in events} == {str(logs / "app.log")}
    assert sum(e["bytes"] for e in events) == expected_lost
    assert source_stats(d)["bytes_lost_truncated"] == expected_lost
    w.close()


def test_truncated_and_rewritten_longer_while_running(work):
    """Truncated in place and rewritten past the old read offset before logproc looks again:
    the rewrite is detected (the bytes before the offset changed) and read from its start;
    every line exactly once and no bytes counted lost."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        old_size = (logs / "app.log").stat().st_size
        ino0 = ino(logs / "app.log")
        with frozen(d):
            os.truncate(logs / "app.log", 0)
            w.write(numbered(100, 300, "rewrite"))
            assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size > 2 * old_size
        wait_seqs(out, 400, daemon=d)
        stop_ok(d)
    exact(out, 400)
    assert sum(e.get("bytes", 0) for e in lost(d, "truncated")) == 0
    w.close()


def test_repeated_in_place_truncation_while_running(work):
    """Five cycles of truncate-in-place (same inode, size really 0) followed by more lines
    than before: every line of every cycle exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    seq = 100
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, seq, daemon=d)
        ino0 = ino(logs / "app.log")
        for cycle in range(1, 6):
            os.truncate(logs / "app.log", 0)
            assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size == 0
            w.write(numbered(seq, 100 + cycle * 50, f"cycle{cycle}"))
            seq += 100 + cycle * 50
            wait_seqs(out, seq, daemon=d)
        stop_ok(d)
    exact(out, seq)
    w.close()


def test_truncated_and_rewritten_shorter_while_stopped(work):
    """Graceful stop, truncate, write fewer bytes than the checkpoint offset, start: exactly
    the new lines are read, none of the old ones again."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100, pad=40))
    deliver(cfg, out, 100)
    old_size = (logs / "app.log").stat().st_size
    ino0 = ino(logs / "app.log")
    os.truncate(logs / "app.log", 0)
    w.write(numbered(100, 50, "new"))
    assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size < old_size
    deliver(cfg, out, 150)
    exact(out, 150)
    w.close()


def test_truncated_and_rewritten_longer_while_stopped_same_first_kib(work):
    """Graceful stop, truncate, rewrite with the same 1.5 KiB header (same first-bytes
    fingerprint) and more bytes than the old offset, start: the hash before the offset catches
    it and the file is read from its start; every numbered line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    header = b"".join(b"# app v1.2.3 started, config /etc/app.conf, pid file /run/app.pid %02d\n" % i
                      for i in range(24))
    assert len(header) > 1536
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(header + numbered(0, 100))
    deliver(cfg, out, 100)
    old_size = (logs / "app.log").stat().st_size
    ino0 = ino(logs / "app.log")
    os.truncate(logs / "app.log", 0)
    w.write(header + numbered(100, 300, "rewrite"))
    assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size > old_size
    deliver(cfg, out, 400)
    exact(out, 400, numbered_only=False)
    assert complete(out).count(header) == 2  # the header of each generation, once each
    w.close()
