"""Rename rotations (catalogue S1, S2, S6, S14): while running, in bursts, while stopped,
with dated and underscore suffixes, and through a symlinked log path."""

from __future__ import annotations

import os
import time

import pytest

from logproc.testing import Daemon, LogWriter, numbered, run_once

from .support import config, deliver, exact, frozen, ino, rename_rotate, stop_ok, wait_seqs

pytestmark = pytest.mark.e2e


def test_rename_rotation_while_running_old_writer_keeps_writing(work):
    """Rename rotation while running, the old writer still writing to `app.log.1` (not matched
    by the glob): every line of both generations exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 1000, "gen0", pad=40))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        ino0 = ino(logs / "app.log")
        w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
        w0.write(numbered(1000, 500, "gen0-late", pad=40))
        w1.write(numbered(1500, 1000, "gen1", pad=40))
        assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
        wait_seqs(out, 2500, daemon=d)
        stop_ok(d)
    exact(out, 2500)
    w0.close()
    w1.close()


def test_rename_rotation_while_running_glob_matches_rotated_name(work):
    """Rename rotation while running with a glob (`app.log*`) that also matches the rotated
    name: the rotated file is not read again under its new name; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 1000, "gen0", pad=40))
    with Daemon(config(work, ["logs/app.log*"])) as d:
        d.wait_started()
        wait_seqs(out, 1000, daemon=d)
        ino0 = ino(logs / "app.log")
        w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
        w0.write(numbered(1000, 300, "gen0-late"))
        w1.write(numbered(1300, 700, "gen1"))
        assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
        wait_seqs(out, 2000, daemon=d)
        stop_ok(d)
    exact(out, 2000)
    w0.close()
    w1.close()


def test_late_write_to_rotated_file_after_logproc_moved_on(work):
    """After logproc has moved on to the new file, the old writer writes to the rotated file
    within the 5 s rotate-wait: those late lines are delivered, exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 100, "gen0"))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        ino0 = ino(logs / "app.log")
        rotated_at = time.monotonic()
        w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
        w1.write(numbered(100, 100, "gen1"))
        assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
        wait_seqs(out, range(100, 200), daemon=d)  # logproc reads the new file now
        assert time.monotonic() - rotated_at < 4, "too slow to test a late write inside the 5 s window"
        w0.write(numbered(200, 10, "gen0-late"))
        wait_seqs(out, 210, daemon=d)
        stop_ok(d)
    exact(out, 210)
    w0.close()
    w1.close()


def test_rotation_twice_in_quick_succession_while_running(work):
    """Two rotations (`.1`->`.2`, `.log`->`.1`, new `.log`) happen before logproc reads again,
    each old writer writing late lines: every line of every generation exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 100, "gen0"))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        with frozen(d):
            ino0 = ino(logs / "app.log")
            w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
            w1.write(numbered(100, 100, "gen1"))
            w0.write(numbered(200, 50, "gen0-late"))
            os.rename(logs / "app.log.1", logs / "app.log.2")
            ino1 = ino(logs / "app.log")
            w2 = rename_rotate(logs / "app.log", logs / "app.log.1")
            w2.write(numbered(250, 100, "gen2"))
            w1.write(numbered(350, 50, "gen1-late"))
            w0.write(numbered(400, 50, "gen0-late"))
            assert (ino(logs / "app.log.2"), ino(logs / "app.log.1")) == (ino0, ino1)
            assert len({ino0, ino1, ino(logs / "app.log")}) == 3
        wait_seqs(out, 450, daemon=d)
        stop_ok(d)
    exact(out, 450)
    for w in (w0, w1, w2):
        w.close()


def test_five_rotations_in_a_burst_while_running(work):
    """Bursts of five numbered rotations (`.4`->`.5` ... `.log`->`.1`) while writing, each old
    writer adding late lines, three bursts in a row: every line of every generation exactly
    once."""
    logs, out = work / "logs", work / "out" / "all.log"
    w = LogWriter(logs / "app.log")
    seq = 0
    inodes: list[int] = []  # of each rotated generation, oldest first
    with Daemon(config(work)) as d:
        d.wait_started()
        for burst in range(6):
            for _ in range(5):
                gen = len(inodes)
                w.write(numbered(seq, 200, f"gen{gen}"))
                seq += 200
                inodes.append(ino(logs / "app.log"))
                for k in range(gen, 0, -1):
                    os.rename(logs / f"app.log.{k}", logs / f"app.log.{k + 1}")
                new = rename_rotate(logs / "app.log", logs / "app.log.1")
                w.write(numbered(seq, 20, f"gen{gen}-late"))
                seq += 20
                w.close()
                w = new
            w.write(numbered(seq, 200, f"after-burst{burst}"))
            seq += 200
            assert [ino(logs / f"app.log.{k}") for k in range(len(inodes), 0, -1)] == inodes
            wait_seqs(out, seq, daemon=d)
        stop_ok(d)
    exact(out, seq)
    w.close()


def test_rename_rotation_while_stopped(work):
    """Graceful stop, then rename rotation with writes to both files: the checkpointed file is
    found by device+inode as `app.log.1` (not matched by the glob) and read from its checkpoint;
    the new file from its start; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 100, "gen0"))
    deliver(cfg, out, 100)
    w0.write(numbered(100, 50, "gen0-unread"))
    ino0 = ino(logs / "app.log")
    w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
    w0.write(numbered(150, 50, "gen0-late"))
    w1.write(numbered(200, 100, "gen1"))
    assert ino(logs / "app.log.1") == ino0 != ino(logs / "app.log")
    deliver(cfg, out, 300)
    exact(out, 300)
    w0.close()
    w1.close()


def test_dated_rotation_while_stopped_glob_matches_rotated_name(work):
    """Graceful stop, then rotation to `app.log-20261124`, which the glob `app.log*` matches:
    the rotated file resumes at its checkpoint (identity is the inode, not the path); every
    line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work, ["logs/app.log*"])
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 500, "gen0", pad=20))
    deliver(cfg, out, 500)
    ino0 = ino(logs / "app.log")
    w1 = rename_rotate(logs / "app.log", logs / "app.log-20261124")
    w0.write(numbered(500, 100, "gen0-late"))
    w1.write(numbered(600, 100, "gen1"))
    assert ino(logs / "app.log-20261124") == ino0 != ino(logs / "app.log")
    deliver(cfg, out, 700)
    exact(out, 700)
    w0.close()
    w1.close()


def test_rotation_twice_while_stopped(work):
    """Graceful stop, then two rotations with writes to every generation: the checkpointed
    file (now `app.log.2`) continues from its checkpoint, the never-seen `app.log.1` and the new
    `app.log` are read from their start; every line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 100, "gen0"))
    deliver(cfg, out, 100)
    ino0 = ino(logs / "app.log")
    w1 = rename_rotate(logs / "app.log", logs / "app.log.1")
    w0.write(numbered(100, 50, "gen0-late"))
    w1.write(numbered(150, 100, "gen1"))
    os.rename(logs / "app.log.1", logs / "app.log.2")
    ino1 = ino(logs / "app.log")
    w2 = rename_rotate(logs / "app.log", logs / "app.log.1")
    w1.write(numbered(250, 50, "gen1-late"))
    w2.write(numbered(300, 100, "gen2"))
    assert (ino(logs / "app.log.2"), ino(logs / "app.log.1")) == (ino0, ino1)
    deliver(cfg, out, 400)
    exact(out, 400)
    for w in (w0, w1, w2):
        w.close()


def test_run_once_with_underscore_rotation_between_runs(work):
    """`run --once`, then rotation to `app.log_1` with writes to both, then `run --once`
    again: the second run reads the rest of the rotated file and all of the new one, each line
    exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    cfg = config(work)
    w0 = LogWriter(logs / "app.log")
    w0.write(numbered(0, 100, "gen0"))
    r = run_once(cfg)
    assert r.returncode == 0, r.stderr.decode()
    exact(out, 100)
    ino0 = ino(logs / "app.log")
    w1 = rename_rotate(logs / "app.log", logs / "app.log_1")
    w0.write(numbered(100, 50, "gen0-late"))
    w1.write(numbered(150, 50, "gen1"))
    assert ino(logs / "app.log_1") == ino0 != ino(logs / "app.log")
    r = run_once(cfg)
    assert r.returncode == 0, r.stderr.decode()
    exact(out, 200)
    w0.close()
    w1.close()


def test_symlinked_log_path_is_followed_across_restart(work):
    """The glob matches only a symlink to the real file in another folder: its lines are
    delivered, and after a graceful stop and more writes, each line exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    targets = work / "targets"
    targets.mkdir()
    (logs / "current.log").symlink_to(targets / "one.log")
    w = LogWriter(targets / "one.log")
    w.write(numbered(0, 100, "one"))
    assert (logs / "current.log").is_symlink()
    cfg = config(work)
    with Daemon(cfg) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        w.write(numbered(100, 100, "one"))
        wait_seqs(out, 200, daemon=d)
        stop_ok(d)
    w.write(numbered(200, 100, "one-while-stopped"))
    d = deliver(cfg, out, 300)
    exact(out, 300)
    w.close()


def test_symlink_retargeted_acts_like_rotation(work):
    """`current.log` is atomically re-pointed (os.replace of a symlink) from `one.log` to
    `two.log`, and the old target gets a late write: every line of both targets exactly once."""
    logs, out = work / "logs", work / "out" / "all.log"
    targets = work / "targets"
    targets.mkdir()
    (logs / "current.log").symlink_to(targets / "one.log")
    w1 = LogWriter(targets / "one.log")
    w1.write(numbered(0, 100, "one"))
    with Daemon(config(work)) as d:
        d.wait_started()
        wait_seqs(out, 100, daemon=d)
        w2 = LogWriter(targets / "two.log")
        (logs / ".current.tmp").symlink_to(targets / "two.log")
        os.replace(logs / ".current.tmp", logs / "current.log")
        assert os.readlink(logs / "current.log") == str(targets / "two.log")
        assert ino(targets / "one.log") != ino(logs / "current.log")
        w2.write(numbered(100, 100, "two"))
        w1.write(numbered(200, 10, "one-late"))
        wait_seqs(out, 210, daemon=d)
        stop_ok(d)
    exact(out, 210)
    w1.close()
    w2.close()
