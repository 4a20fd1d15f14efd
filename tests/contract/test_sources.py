"""The source contract, over every kind in `logproc.sources.registry.KINDS`.

Each kind runs in the real `logproc run`, fed numbered lines through its harness
(`tests.contract.harness.SOURCE_HARNESSES`), delivering to an http sink on
`HttpTestServer` (which can refuse, to stop delivery part-way):
- positions acknowledged in order: after a run that delivered part of the input and one
  whose sink refused everything, a restart reads on exactly where delivery stopped — every
  number once over all runs (kinds with positions; a receiver has nothing to resume from);
- stop/drain: everything read, then SIGTERM at once → all of it delivered, exit 0;
- reload: a second source added by config + SIGHUP delivers its lines, and removed again
  the first keeps going; nothing lost or repeated.

A new source kind joins with one entry in `SOURCE_HARNESSES` (a kind without one fails
`test_every_kind_has_a_harness`).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from logproc.sources.registry import KINDS
from logproc.testing import Daemon, check_sequence, numbered, wait_for
from tests.contract.harness import (
    SOURCE_HARNESSES,
    HttpHarness,
    SourceHarness,
    config,
    free_port,
    metric,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

ALL = sorted(KINDS)
WITH_POSITIONS = sorted(k for k in KINDS if k in SOURCE_HARNESSES and SOURCE_HARNESSES[k].positions)
SECOND = 1_000_000  # numbers of the second source start here


class Run:
    """One source kind under test, into an http sink."""

    def __init__(self, work: Path, kind: str) -> None:
        self.work = work
        self.harness: SourceHarness = SOURCE_HARNESSES[kind](work)
        self.sink = HttpHarness(work)
        self.port = free_port()
        self.cfg = work / "logproc.toml"

    def configure(self, instances: tuple[int, ...] = (0,), linger: bool = False,
                  shutdown_timeout: float = 5) -> None:
        sources = "".join(f"[sources.s{i}]\n{self.harness.source_toml(i)}\n" for i in instances)
        sinks = "[sinks.out]\n" + self.sink.sink_toml(0, linger)
        self.cfg.write_text(config(self.work, self.port, sources, sinks, shutdown_timeout))

    def messages(self) -> list[bytes]:
        return [m for _, m in self.sink.arrived()]

    def wait_arrived(self, n: int, timeout: float = 10) -> list[bytes]:
        return wait_for(lambda: len(got := self.messages()) >= n and got, timeout,
                        what=f"{n} entries at the sink")

    def lines_read(self, instance: int = 0) -> float:
        return metric(self.port, "logproc_source_lines_read_total", source=f"s{instance}")


@pytest.fixture(name="run", params=ALL)
def fixture_run(request: pytest.FixtureRequest, work: Path) -> Iterator[Run]:
    if request.param not in SOURCE_HARNESSES:
        pytest.fail(f"source kind {request.param!r} has no harness in SOURCE_HARNESSES")
    run = Run(work, request.param)
    yield run
    run.harness.close()
    run.sink.close()


@pytest.fixture(name="resumable", params=WITH_POSITIONS)
def fixture_resumable(request: pytest.FixtureRequest, work: Path) -> Iterator[Run]:
    run = Run(work, request.param)
    yield run
    run.harness.close()
    run.sink.close()


def reloads(d: Daemon) -> int:
    text = d.log()
    return text.count('"reloaded"') + text.count("event=reloaded")


# -- the suite covers every kind -------------------------------------------------------
def test_every_kind_has_a_harness() -> None:
    assert set(SOURCE_HARNESSES) == set(KINDS), "a source kind needs an entry in SOURCE_HARNESSES"


# -- the contract ----------------------------------------------------------------------
def test_restart_reads_on_where_delivery_stopped(resumable: Run) -> None:
    """Run 1 delivers 0..299. Run 2 reads 300..599 (written while stopped) and its sink
    refuses everything until the shutdown deadline (exit 1: nothing acknowledged). Run 3,
    the sink healed, delivers from 300 on: every number exactly once over the three runs."""
    run = resumable
    h = run.harness
    run.configure(shutdown_timeout=1)
    with Daemon(run.cfg) as d:
        d.wait_started()
        h.write(0, numbered(0, 300, "first"))
        run.wait_arrived(300)
        assert d.stop() == 0, d.log()
    h.write(0, numbered(300, 300, "second"))
    run.sink.down()
    with Daemon(run.cfg) as d:
        d.wait_started()
        wait_for(lambda: run.lines_read() == 300, 10, what="the new lines read")
        wait_for(lambda: metric(run.port, "logproc_sink_retries_total", sink="out") >= 1, 10,
                 what="a refused write")
        assert d.stop() == 1, "a sink that never accepted: the shutdown deadline passes"
    assert len(run.messages()) == 300
    run.sink.up()
    with Daemon(run.cfg) as d:
        d.wait_started()
        h.write(0, numbered(600, 100, "third"))
        got = run.wait_arrived(700)
        assert run.lines_read() == 400, "run 3 reads from where delivery stopped, not from where reading did"
        assert d.stop() == 0, d.log()
    check_sequence(run.messages(), 700)
    assert len(got) == 700


def test_stop_delivers_everything_read(run: Run) -> None:
    """Everything read, then SIGTERM at once (the sink still lingering over it): all of it
    delivered, exit 0."""
    run.configure(linger=True)
    n = 1500
    with Daemon(run.cfg) as d:
        d.wait_started()
        run.harness.write(0, numbered(0, n, "drain"))
        wait_for(lambda: run.lines_read() == n, 10, interval=0.005, what="every line read")
        assert run.messages() == [], "the sink lingers: nothing delivered before the stop"
        d.signal(signal.SIGTERM)
        assert d.wait(15) == 0, d.log()
    check_sequence(run.messages(), n)


def test_reload_adds_then_removes_a_source(run: Run) -> None:
    h = run.harness
    run.configure((0,))
    with Daemon(run.cfg) as d:
        d.wait_started()
        h.write(0, numbered(0, 200, "one"))
        run.wait_arrived(200)
        run.configure((0, 1))
        d.signal(signal.SIGHUP)
        wait_for(lambda: reloads(d) == 1, 10, what="the reload adding s1")
        h.write(0, numbered(200, 200, "one"))
        h.write(1, numbered(SECOND, 200, "two"))
        run.wait_arrived(600)
        run.configure((0,))
        d.signal(signal.SIGHUP)
        wait_for(lambda: reloads(d) == 2, 10, what="the reload removing s1")
        h.write(0, numbered(400, 200, "one"))
        run.wait_arrived(800)
        assert d.stop() == 0, d.log()
        assert "invalid config" not in d.log()
    msgs = run.messages()
    check_sequence([m for m in msgs if b" one " in m], 600)
    check_sequence([m for m in msgs if b" two " in m], range(SECOND, SECOND + 200))
    assert len(msgs) == 800
