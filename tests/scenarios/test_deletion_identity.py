"""Deletion and file identity (catalogue S9-S13, S7 .gz): deleted while open and while
stopped, inode reuse while running and while stopped, a shared header, small and empty
files, gzip content."""

from __future__ import annotations

import gzip
import os
import random

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, wait_for

from .support import (
    GatedSink,
    NotifySocket,
    complete,
    config,
    create_with_inode,
    deliver,
    exact,
    frozen,
    graceful_stop_while_blocked,
    ino,
    lost,
    named,
    open_inodes,
    open_under,
    source_stats,
    stop_ok,
    wait_seqs,
)

pytestmark = pytest.mark.e2e


def test_deleted_while_open_writer_keeps_writing_then_released(work):
    """`app.log` is unlinked while logproc and the writer hold it, and the writer appends more:
    every line exactly once, then logproc releases the descriptor (`file released`, state
    `deleted`)."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        key = (os.fstat(w.fd).st_dev, os.fstat(w.fd).st_ino)
        assert key in open_inodes(d.pid)
        os.unlink(logs / "app.log")
        w.write(numbered(100, 100, "after-unlink"))
        assert not (logs / "app.log").exists() and os.fstat(w.fd).st_nlink == 0
        wait_seqs(out, 200, daemon=d)
        w.close()
        wait_for(lambda: key not in open_inodes(d.pid), 10, what="logproc to release the deleted file")
        assert named(d, "file released", state="deleted", path=str(logs / "app.log")), d.log()[-2000:]
        stop_ok(d)
    exact(out, 200)


def test_deleted_while_stopped_counts_unread_bytes_gone(work):
    """A graceful stop in the middle of a large file (sink blocked), then the file is deleted:
    on start its unread bytes are counted lost exactly (`bytes lost`, reason `gone`, and
    `bytes_lost_gone`), and nothing is delivered twice."""
    logs, out = work / "logs", work / "out" / "all.log"
    n = 150_000
    data = numbered(0, n, pad=80)  # ~15 MB: far more than the sink, queue and read-ahead hold
    (logs / "app.log").write_bytes(data)
    cfg = config(work, daemon="queue_size = 100", sink_path=work / "out" / "sink.fifo")
    notify = NotifySocket(work / "notify.sock")
    with GatedSink(work / "out" / "sink.fifo", out, held=True) as sink:
        with Daemon(cfg, env=notify.env) as d:
            d.wait_started()
            sink.wait_full()  # logproc has read lines and is blocked
            graceful_stop_while_blocked(d, sink, notify)
        delivered = complete(out)
        k = delivered.count(b"\n")
        assert k < n, "the stop came after everything was delivered: nothing unread to lose"
        check_sequence(delivered, k)
        (logs / "app.log").unlink()
        with Daemon(cfg) as d2:
            d2.wait_started()
            wait_for(lambda: lost(d2, "gone"), 10, what="a 'bytes lost' event with reason 'gone'")
            stop_ok(d2)
    assert complete(out) == delivered
    expected_lost = len(data) - len(delivered)
    events = lost(d2, "gone")
    assert {e.get("path") for e in events} == {str(logs / "app.log")}
    assert sum(e["bytes"] for e in events) == expected_lost
    assert source_stats(d2)["bytes_lost_gone"] == expected_lost


def test_inode_reused_while_running_is_read_from_start(work):
    """The file is deleted, logproc releases it, and a new `app.log` gets the same inode and
    more bytes than the old offset before logproc looks: it is a new file, read from its start;
    every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    w.close()
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        st = os.stat(logs / "app.log")
        old_size = st.st_size
        os.unlink(logs / "app.log")
        wait_for(lambda: (st.st_dev, st.st_ino) not in open_inodes(d.pid), 10,
                 what="logproc to release the deleted file")
        with frozen(d):
            create_with_inode(logs / "app.log", st.st_ino)
            w = LogWriter(logs / "app.log")
            w.write(numbered(100, 300, "reused"))
            assert ino(logs / "app.log") == st.st_ino and (logs / "app.log").stat().st_size > old_size
        wait_seqs(out, 400, daemon=d)
        stop_ok(d)
    exact(out, 400)
    w.close()


def test_inode_reused_while_stopped_is_read_from_start(work):
    """Graceful stop, delete, a new `app.log` with the same inode and more bytes than the
    checkpoint offset, start: it is a new file, read from its start; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    w.close()
    deliver(cfg, out, 100)
    st = os.stat(logs / "app.log")
    os.unlink(logs / "app.log")
    create_with_inode(logs / "app.log", st.st_ino)
    w = LogWriter(logs / "app.log")
    w.write(numbered(100, 300, "reused"))
    assert ino(logs / "app.log") == st.st_ino and (logs / "app.log").stat().st_size > st.st_size
    deliver(cfg, out, 400)
    exact(out, 400)
    w.close()


def test_two_files_with_identical_first_kib_are_both_read(work):
    """Two files whose first 1.6 KiB are the same header, then different lines, across a
    restart: both are read in full, every numbered line exactly once, each header once per file."""
    logs, out = work / "logs", work / "out" / "all.log"
    header = b"".join(b"# service banner: build 2026.11 commit 0123456789abcdef line %02d\n" % i
                      for i in range(25))
    assert len(header) > 1536
    a, b = LogWriter(logs / "a.log"), LogWriter(logs / "b.log")
    a.write(header + numbered(0, 100, "a"))
    b.write(header + numbered(100, 100, "b"))
    assert (logs / "a.log").read_bytes()[:1536] == (logs / "b.log").read_bytes()[:1536]
    assert ino(logs / "a.log") != ino(logs / "b.log")
    cfg = config(work)
    deliver(cfg, out, 200)
    a.write(numbered(200, 50, "a"))
    b.write(numbered(250, 50, "b"))
    deliver(cfg, out, 300)
    exact(out, 300, numbered_only=False)
    assert complete(out).count(header) == 2
    a.close()
    b.close()


def test_small_file_growing_past_fingerprint_window_across_restarts(work):
    """A 20-byte file grows while running, then past 1 KiB while stopped, then again: it is
    neither re-read (provisional fingerprint grows) nor skipped; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(b"seq=0 tiny\n")
    assert (logs / "app.log").stat().st_size < 32
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, 1, daemon=d)
        w.write(numbered(1, 10, "grow"))
        wait_seqs(out, 11, daemon=d)
        assert (logs / "app.log").stat().st_size < 1024
        stop_ok(d)
    w.write(numbered(11, 100, "past-1KiB-past-1KiB"))
    assert (logs / "app.log").stat().st_size > 2048
    d = deliver(cfg, out, 111)
    w.write(numbered(111, 10, "more"))
    d = deliver(cfg, out, 121)
    exact(out, 121)
    w.close()


def test_empty_file_written_later_and_across_restart(work):
    """An empty file present at start-up is written to later, then more while stopped: every
    line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    (logs / "app.log").touch()
    cfg = config(work)
    with Daemon(cfg) as d:
        d.wait_started()
        assert (logs / "app.log").stat().st_size == 0
        w = LogWriter(logs / "app.log")
        w.write(numbered(0, 50))
        wait_seqs(out, 50, daemon=d)
        stop_ok(d)
    w.write(numbered(50, 50, "while-stopped"))
    d = deliver(cfg, out, 100)
    exact(out, 100)
    w.close()


def test_compressed_files_are_read_by_their_magic_and_identical_content_once(work):
    """A matched `old.log` whose content is gzip data and a matched `app.log.1.gz` holding the
    same bytes: compressed files are recognised by their magic, not their name, and read
    decompressed; two archives of the same content are one file (identity is the content),
    so its lines arrive once, beside the plain file's; a restart reads nothing again."""
    logs, out = work / "logs", work / "out" / "all.log"
    packed = gzip.compress(numbered(1000, 100, "in-gzip"))
    (logs / "old.log").write_bytes(packed)
    (logs / "app.log.1.gz").write_bytes(packed)
    assert packed[:2] == b"\x1f\x8b"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    cfg = config(work, ["logs/*.log", "logs/*.gz"])
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, [*range(100), *range(1000, 1100)], daemon=d)
        w.write(numbered(100, 100))
        wait_seqs(out, [*range(200), *range(1000, 1100)], daemon=d)
        stop_ok(d)
    with Daemon(cfg) as d:
        d.wait_started()
        w.write(numbered(200, 100))
        wait_seqs(out, [*range(300), *range(1000, 1100)], daemon=d)
        stop_ok(d)
    exact(out, [*range(300), *range(1000, 1100)])  # no binary garbage, nothing twice
    w.close()


def test_gzip_file_created_empty_then_filled_is_read_once(work):
    """A matched `app.log.1.gz` exists but is still empty when logproc starts (as when gzip has
    just created it), then gets its gzip data: it is read decompressed once, in this run and
    not again in the next; the plain file's lines arrive exactly once too."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work, ["logs/app.log*"])
    (logs / "app.log.1.gz").touch()
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 100))
    with Daemon(cfg) as d:
        d.wait_started()  # the discovery pass has seen the empty .gz
        wait_seqs(out, 100, daemon=d)
        # incompressible content, so the gzip stream has newline bytes: read as text it would
        # give lines of garbage
        noise = random.Random(7).randbytes(8192).replace(b"\n", b"")
        packed = gzip.compress(numbered(1000, 200, "in-gzip") + b"bin " + noise + b"\n")
        assert packed.count(b"\n") > 10
        with open(logs / "app.log.1.gz", "ab") as f:
            f.write(packed)
        assert (logs / "app.log.1.gz").read_bytes()[:2] == b"\x1f\x8b"
        w.write(numbered(100, 100))
        wait_seqs(out, [*range(200), *range(1000, 1200)], daemon=d)
        stop_ok(d)
    w.write(numbered(200, 100))
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, [*range(300), *range(1000, 1200)], daemon=d)
        gz_held = [p for p in open_under(d.pid, logs) if p.endswith(".gz")]
        stop_ok(d)
    exact(out, [*range(300), *range(1000, 1200)], numbered_only=False)
    assert out.read_bytes().count(b"\nbin ") == 1  # the binary line once, decompressed
    assert not gz_held, f"logproc holds the read archive open: {gz_held}"
    w.close()
