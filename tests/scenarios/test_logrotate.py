"""The real logrotate program (catalogue S1-S3, S6, S7): `create`, `copytruncate`,
`compress`, `delaycompress` and `dateext`, while logproc runs and while it is stopped."""

from __future__ import annotations

import gzip
import os

import pytest

from logproc.testing import Daemon, LogWriter, numbered

from .support import config, deliver, exact, frozen, ino, logrotate, seq_counts, stop_ok, wait_seqs

pytestmark = pytest.mark.e2e


def test_logrotate_create_while_running(work):
    """logrotate `create` while running; the application reopens, but first writes a few
    more lines to the rotated file: every line of both generations exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 1000, "gen0", pad=20))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        ino0 = ino(logs / "app.log")
        logrotate(work, "rotate 5\ncreate 0644")
        assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
        assert (logs / "app.log").stat().st_size == 0
        w0.write(numbered(1000, 100, "gen0-late"))  # before the application noticed
        w1 = LogWriter(logs / "app.log")  # the application reopens (postrotate signal)
        w1.write(numbered(1100, 900, "gen1"))
        wait_seqs(out, 2000, daemon=d)
        stop_ok(d)
    exact(out, 2000)
    w0.close()
    w1.close()


def test_logrotate_copytruncate_while_running(work):
    """logrotate `copytruncate` right after lines logproc has not read yet: they are read from
    `app.log.1`, nothing is repeated, later lines arrive; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 1000, pad=20))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        ino0 = ino(logs / "app.log")
        with frozen(d):
            w.write(numbered(1000, 200, "unread"))
            logrotate(work, "rotate 5\ncopytruncate")
            assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size == 0
            assert seq_counts((logs / "app.log.1").read_bytes()).keys() == set(range(1200))
        w.write(numbered(1200, 50, "after"))
        wait_seqs(out, 1250, daemon=d)
        stop_ok(d)
    exact(out, 1250)
    w.close()


def test_logrotate_compress_while_running_reads_unlinked_generation(work):
    """logrotate `create compress` (no delay) right after lines logproc has not read: the
    rotated file is gzipped and unlinked at once, so the unread lines are read from the open
    descriptor; `app.log.1.gz` (matched by `app.log*`) is never read; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 1000, "gen0", pad=20))
    with Daemon(config(work, ["logs/app.log*"])) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        with frozen(d):
            w0.write(numbered(1000, 200, "gen0-unread"))
            logrotate(work, "rotate 5\ncreate 0644\ncompress")
            assert not (logs / "app.log.1").exists()
            assert max(seq_counts(gzip.decompress((logs / "app.log.1.gz").read_bytes()))) == 1199
            w1 = LogWriter(logs / "app.log")
            w1.write(numbered(1200, 300, "gen1"))
        wait_seqs(out, 1500, daemon=d)
        stop_ok(d)
    exact(out, 1500)
    w0.close()
    w1.close()


def test_logrotate_delaycompress_twice_while_running_never_reads_gz(work):
    """Two logrotate runs with `compress delaycompress` while running, late writes to each
    rotated file, a glob (`app.log*`) matching `app.log.1` and `app.log.2.gz`: every line
    exactly once and no byte of the `.gz` delivered."""
    logs, out = work / "logs", work / "out" / "all.log"
    lr = "rotate 5\ncreate 0644\ncompress\ndelaycompress"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 500, "gen0", pad=20))
    with Daemon(config(work, ["logs/app.log*"])) as d:
        d.wait_started()
        wait_seqs(out, 500, daemon=d)
        ino0 = ino(logs / "app.log")
        logrotate(work, lr)
        assert ino(logs / "app.log.1") == ino0 and not list(logs.glob("*.gz"))
        w1 = LogWriter(logs / "app.log")
        w0.write(numbered(500, 50, "gen0-late"))
        w1.write(numbered(550, 450, "gen1"))
        wait_seqs(out, 1000, daemon=d)
        ino1 = ino(logs / "app.log")
        logrotate(work, lr)
        assert ino(logs / "app.log.1") == ino1 and (logs / "app.log.2.gz").exists()
        assert not (logs / "app.log.2").exists()
        w2 = LogWriter(logs / "app.log")
        w1.write(numbered(1000, 50, "gen1-late"))
        w2.write(numbered(1050, 450, "gen2"))
        wait_seqs(out, 1500, daemon=d)
        stop_ok(d)
    exact(out, 1500)
    for w in (w0, w1, w2):
        w.close()


def test_logrotate_create_dateext_while_stopped(work):
    """Graceful stop, more lines, logrotate `create dateext` (`app.log-YYYYMMDD`), late lines to
    the rotated file and new ones to `app.log`, start: every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 500, "gen0", pad=20))
    deliver(cfg, out, 500)
    w0.write(numbered(500, 100, "gen0-unread"))
    ino0 = ino(logs / "app.log")
    logrotate(work, "rotate 5\ncreate 0644\ndateext")
    rotated = sorted(logs.glob("app.log-*"))
    assert len(rotated) == 1 and ino(rotated[0]) == ino0 != ino(logs / "app.log")
    w0.write(numbered(600, 50, "gen0-late"))
    w1 = LogWriter(logs / "app.log")
    w1.write(numbered(650, 350, "gen1"))
    deliver(cfg, out, 1000)
    exact(out, 1000)
    w0.close()
    w1.close()


def test_logrotate_copytruncate_while_stopped(work):
    """Graceful stop, more lines, logrotate `copytruncate`, new lines, start: the unread lines
    come from `app.log.1`, the new ones from `app.log`; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w = LogWriter(logs / "app.log")
    w.write(numbered(0, 500, pad=20))
    deliver(cfg, out, 500)
    w.write(numbered(500, 100, "unread"))
    ino0 = ino(logs / "app.log")
    logrotate(work, "rotate 5\ncopytruncate")
    assert ino(logs / "app.log") == ino0 and (logs / "app.log").stat().st_size == 0
    assert ino(logs / "app.log.1") != ino0 and os.path.getsize(logs / "app.log.1") > 0
    w.write(numbered(600, 50, "after"))
    deliver(cfg, out, 650)
    exact(out, 650)
    w.close()
