"""Delivery across restarts, against the real `logproc` command and the numbered-line oracle."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, run_once, wait_for

pytestmark = pytest.mark.e2e

FILES = 5
TOTAL = 200_000
STOPS = 10


def _config(write_config, work: Path) -> Path:
    return write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.out]
        type = "file"
        path = "{work}/out/all.jsonl"
        format = "json"
        """
    )


class LineCounter:
    """Counts the lines of a growing file incrementally (cheap to poll)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0
        self.lines = 0

    def __call__(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return 0
        self.pos += len(data)
        self.lines += data.count(b"\n")
        return self.lines


def _none_missing(out: Path) -> bool:
    try:
        check_sequence(out.read_bytes(), TOTAL, allow_dups=TOTAL)
    except AssertionError:
        return False
    return True


def _restart_run(work: Path, config: Path, sig: int, seed: int) -> bytes:
    """Write TOTAL numbered lines over FILES files in STOPS+1 phases, stopping logproc with
    `sig` at a random moment after each phase, and restarting it; return the output."""
    rng = random.Random(seed)
    writers = [LogWriter(work / "logs" / f"f{i}.log") for i in range(FILES)]
    out = work / "out" / "all.jsonl"
    count = LineCounter(out)
    per_phase = TOTAL // (STOPS + 1)
    seq = 0
    stops_mid_delivery = 0
    for phase in range(STOPS + 1):
        n = per_phase if phase < STOPS else TOTAL - seq
        for k in range(0, n, 1000):  # interleave the files in blocks, like busy applications
            m = min(1000, n - k)
            writers[(seq // 1000) % FILES].write(numbered(seq, m, tag=f"phase={phase}"))
            seq += m
        # the random point: a random share of what is still undelivered has been delivered
        base = count()
        target = base + int((seq - base) * rng.uniform(0.05, 0.9))
        d = Daemon(config, log_path=work / f"daemon-{phase}.log")
        if phase == STOPS:
            wait_for(lambda: count() >= TOTAL and _none_missing(out), 60, 0.1, what="every line delivered")
            assert d.stop() == 0, d.log()
            break
        wait_for(lambda t=target: count() >= t, 30, 0.001, what="the random stop point")
        if count() < seq:
            stops_mid_delivery += 1
        if sig == signal.SIGTERM:
            assert d.stop() == 0, d.log()
        else:
            d.signal(sig)
            assert d.wait(10) == -sig
    for w in writers:
        w.close()
    assert seq == TOTAL
    # the stops must really have interrupted delivery, or the test proves nothing
    assert stops_mid_delivery >= STOPS // 2, f"only {stops_mid_delivery} stops hit mid-delivery"
    return out.read_bytes()


def test_sigterm_at_random_points_delivers_every_line_exactly_once(work, write_config):
    """200,000 lines over 5 files, SIGTERM at 10 random points: each number exactly once."""
    config = _config(write_config, work)
    report = check_sequence(_restart_run(work, config, signal.SIGTERM, seed=3), TOTAL)
    assert report.received == TOTAL


def test_sigkill_at_random_points_loses_nothing(work, write_config):
    """The same with SIGKILL: nothing missing; duplicates are allowed and reported."""
    config = _config(write_config, work)
    report = check_sequence(_restart_run(work, config, signal.SIGKILL, seed=4), TOTAL, allow_dups=TOTAL)
    print(f"SIGKILL x{STOPS}: {report.summary()}")
    assert not report.missing
    assert report.received >= TOTAL


def test_run_once_twice_delivers_nothing_the_second_time(work, write_config):
    """`run --once` reads to the end and commits; a second run over the same files sends nothing."""
    config = _config(write_config, work)
    for i in range(3):
        (work / "logs" / f"f{i}.log").write_bytes(numbered(i * 1000, 1000))
    (work / "logs" / "partial.log").write_bytes(b"seq=3000 first\nseq=3001 no newline at the end")
    first = run_once(config)
    assert first.returncode == 0, first.stderr.decode()
    out = work / "out" / "all.jsonl"
    check_sequence(out.read_bytes(), 3002)
    size = out.stat().st_size
    second = run_once(config)
    assert second.returncode == 0, second.stderr.decode()
    assert out.stat().st_size == size
    # a continuation written later arrives as a new entry, and only it
    with open(work / "logs" / "partial.log", "ab") as f:
        f.write(b" continued\nseq=3002 next\n")
    third = run_once(config)
    assert third.returncode == 0
    new = out.read_bytes()[size:].splitlines()
    assert len(new) == 2
    assert b'"message":" continued"' in new[0]
    check_sequence(new[1], [3002])
