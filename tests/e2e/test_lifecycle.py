"""Following files while running: new files, start_at, rotation, SIGINT, a sink that
drops when full, and the --once progress line on a terminal."""

from __future__ import annotations

import os
import pty
import signal
import subprocess

import orjson
import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, logproc_cmd, numbered, wait_for

pytestmark = pytest.mark.e2e


def _lines(path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    return data[: data.rfind(b"\n") + 1]


def _count(path) -> int:
    return _lines(path).count(b"\n")


def _file_config(write_config, extra_source: str = "") -> object:
    return write_config(
        f"""
        [sources.app]
        paths = ["{{work}}/logs/*.log"]
        {extra_source}

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.log"
        format = "raw"
        """
    )


def test_files_created_later_are_picked_up_and_start_at_end_skips_old_content(work, write_config):
    """start_at = end: a file present at start-up is read from its end; a file created
    later is read from its start; lines appended to either arrive exactly once."""
    old = LogWriter(work / "logs" / "old.log")
    old.write(numbered(900_000, 100, tag="before-start"))
    config = _file_config(write_config, 'start_at = "end"')
    out = work / "out" / "all.log"
    with Daemon(config) as d:
        d.wait_started()
        old.write(numbered(0, 500))
        new = LogWriter(work / "logs" / "new.log")
        new.write(numbered(500, 500))
        wait_for(lambda: _count(out) >= 1000, 20, what="lines from both files")
        assert d.stop() == 0
    check_sequence(_lines(out), 1000)


def test_rename_rotation_while_running_loses_nothing(work, write_config):
    """rename+create while lines are being written: every line exactly once."""
    config = _file_config(write_config)
    out = work / "out" / "all.log"
    w = LogWriter(work / "logs" / "app.log")
    with Daemon(config) as d:
        d.wait_started()
        w.write(numbered(0, 20_000))
        w.rotate(work / "logs" / "app.log.1")  # the rotated name does not match the glob
        assert (work / "logs" / "app.log.1").stat().st_size > 0
        w.write(numbered(20_000, 20_000))
        wait_for(lambda: _count(out) >= 40_000, 30, what="lines of both generations")
        assert d.stop() == 0
    check_sequence(_lines(out), 40_000)


def test_sigint_drains_and_exits_zero(work, write_config):
    """SIGINT is a graceful shutdown like SIGTERM: exit 0, nothing lost or repeated."""
    config = _file_config(write_config)
    out = work / "out" / "all.log"
    (work / "logs" / "a.log").write_bytes(numbered(0, 50_000))
    d = Daemon(config)
    d.wait_started()
    wait_for(lambda: _count(out) > 0, 20, what="delivery to start")
    d.signal(signal.SIGINT)
    assert d.wait(30) == 0, d.log()
    d2 = Daemon(config)
    d2.wait_started()
    wait_for(lambda: _count(out) >= 50_000, 30, what="the rest after restart")
    assert d2.stop() == 0
    check_sequence(_lines(out), 50_000)


def test_sink_with_when_full_drop_never_holds_the_others_back(work, write_config):
    """A stdout sink nobody reads, with when_full = drop: the file sink still gets every
    line, and the daemon reports the drops."""
    config = write_config(
        """
        [daemon]
        state_dir = "{work}/state"
        metrics_address = ""
        queue_size = 1000
        checkpoint_interval = 0.2

        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.out]
        type = "file"
        path = "{work}/out/all.log"
        format = "raw"

        [sinks.console]
        type = "stdout"
        format = "raw"
        when_full = "drop"
        """
    )
    out = work / "out" / "all.log"
    (work / "logs" / "a.log").write_bytes(numbered(0, 100_000, pad=200))  # ~24 MB: far more than a pipe holds
    r, w = os.pipe()
    try:
        with Daemon(config, stdout=w) as d:
            os.close(w)
            w = -1
            d.wait_started()
            wait_for(lambda: _count(out) >= 100_000, 60, what="every line in the file sink")
            assert d.stop() == 0, d.log()
            log = d.log()
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    check_sequence(_lines(out), 100_000)
    events = [orjson.loads(x) for x in log.splitlines() if x.startswith("{")]
    dropped = [e for e in events if e.get("event") == "sink full, dropping entries"]
    assert dropped and dropped[0]["sink"] == "console"


def test_once_on_a_terminal_shows_progress(work, write_config):
    """`run --once` with stderr on a TTY prints bytes done of total, rate and ETA."""
    (work / "logs" / "a.log").write_bytes(numbered(0, 20_000))
    config = _file_config(write_config)
    master, slave = pty.openpty()
    try:
        p = subprocess.run([*logproc_cmd(), "run", "--once", "-c", str(config)], stderr=slave,
                           stdout=subprocess.DEVNULL, timeout=60, check=False)
        os.close(slave)
        slave = -1
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert p.returncode == 0
    text = shown.decode(errors="replace")
    size = (work / "logs" / "a.log").stat().st_size
    assert f"of {size / 1024:.1f} KiB (100%)" in text, text
    assert "/s" in text and "ETA" in text
    check_sequence(_lines(work / "out" / "all.log"), 20_000)
