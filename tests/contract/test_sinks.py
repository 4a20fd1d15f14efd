"""The sink contract, over every kind in `logproc.sinks.registry.KINDS`.

Each kind runs in the real `logproc run` against a real local destination (its harness in
`tests.contract.harness.SINK_HARNESSES`), fed numbered lines by a file source:
- acknowledged only once durable: the committed checkpoint never covers a line the
  destination does not have (sampled while lines flow; for a kind whose acknowledgement is
  its destination's kernel accepting the bytes, `in_transit` bounds the time they take
  to show), and covers every byte at the end;
- retry: a destination that fails then heals gets every line, exactly once, and nothing
  is acknowledged while it fails (kinds with a fault injector; the others are documented);
- flush at shutdown: lines read then SIGTERM at once → all at the destination, exit 0;
- rebuild at reload: a changed sink config applies to lines written after SIGHUP, nothing
  lost or repeated across it;
- metrics: `logproc_sink_entries_written_total` equals the entries delivered;
- SIGKILL while lines flow, then a restart: no line lost (repeats only of what had been
  delivered before the kill).

A new sink kind joins with one entry in `SINK_HARNESSES` (a kind without one fails
`test_every_kind_has_a_harness`).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logproc.sinks.registry import KINDS
from logproc.testing import Daemon, check_sequence, numbered, wait_for
from tests.contract.harness import (
    NO_FAULT,
    SINK_HARNESSES,
    SinkHarness,
    checkpoint_offsets,
    config,
    free_port,
    metric,
    seqs,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

ALL = sorted(KINDS)
WITH_FAULT = sorted(k for k in KINDS if k in SINK_HARNESSES and SINK_HARNESSES[k].fault)
WRITTEN = "logproc_sink_entries_written_total"
SOURCE = '[sources.in]\npaths = ["{work}/logs/in.log"]\n'


class Run:
    """One kind under test: its harness, the config file and the metrics port."""

    def __init__(self, work: Path, kind: str) -> None:
        self.work = work
        self.harness: SinkHarness = SINK_HARNESSES[kind](work)
        self.port = free_port()
        self.cfg = work / "logproc.toml"
        self.log = work / "logs" / "in.log"
        self.written = 0  # lines appended to the input

    def configure(self, form: int = 0, linger: bool = False) -> None:
        sinks = "[sinks.out]\n" + self.harness.sink_toml(form, linger)
        self.cfg.write_text(config(self.work, self.port, SOURCE.format(work=self.work), sinks))

    def daemon(self) -> Daemon:
        return Daemon(self.cfg, **self.harness.daemon_args())

    def append(self, count: int) -> None:
        with open(self.log, "ab") as f:
            f.write(numbered(self.written, count, "contract"))
        self.written += count

    def arrived(self) -> list[tuple[int, bytes]]:
        return self.harness.arrived()

    def wait_arrived(self, n: int, timeout: float = 10) -> list[tuple[int, bytes]]:
        return wait_for(lambda: len(got := self.arrived()) >= n and got, timeout,
                        what=f"{n} entries at the destination")

    def delivered_bytes(self) -> int:
        """Input bytes of the longest run of lines 0..k-1 all at the destination."""
        return prefix_bytes(seqs([m for _, m in self.arrived()]))

    def metric(self, name: str, **labels: str) -> float:
        return metric(self.port, name, **labels)

    def offset(self) -> int:
        offsets = checkpoint_offsets(self.work, "in")
        assert len(offsets) <= 1, offsets
        return offsets[0] if offsets else 0


@pytest.fixture(name="run", params=ALL)
def fixture_run(request: pytest.FixtureRequest, work: Path) -> Iterator[Run]:
    if request.param not in SINK_HARNESSES:
        pytest.fail(f"sink kind {request.param!r} has no harness in SINK_HARNESSES")
    run = Run(work, request.param)
    yield run
    run.harness.close()


@pytest.fixture(name="faulty", params=WITH_FAULT)
def fixture_faulty(request: pytest.FixtureRequest, work: Path) -> Iterator[Run]:
    run = Run(work, request.param)
    yield run
    run.harness.close()


def prefix_bytes(received: list[int]) -> int:
    """Input bytes of the longest run 0..k-1 of numbers all received."""
    have = set(received)
    k = 0
    while k in have:
        k += 1
    return len(numbered(0, k, "contract"))


# -- the suite covers every kind -------------------------------------------------------
def test_every_kind_has_a_harness() -> None:
    assert set(SINK_HARNESSES) == set(KINDS), "a sink kind needs an entry in SINK_HARNESSES"


def test_kinds_without_a_fault_injector_are_the_documented_ones() -> None:
    without = {k for k in KINDS if k in SINK_HARNESSES and not SINK_HARNESSES[k].fault}
    assert without == set(NO_FAULT), "a kind without a fault injector is listed in NO_FAULT, with why"


# -- the contract ----------------------------------------------------------------------
def test_acknowledged_only_once_at_the_destination(run: Run) -> None:
    """While lines flow, every committed checkpoint is at most what had arrived by then;
    at the end it is every byte."""
    run.configure()
    samples = 0
    with run.daemon() as d:
        d.wait_started()
        for _ in range(20):
            run.append(50)
            for _ in range(3):
                offset = run.offset()  # first the checkpoint, then the destination
                if run.harness.in_transit:  # acknowledged once its kernel has it: on its way
                    wait_for(lambda o=offset: run.delivered_bytes() >= o, run.harness.in_transit,
                             what=f"the {offset} acknowledged bytes at the destination")
                have = run.delivered_bytes()
                assert offset <= have, f"checkpoint at {offset} while the destination has {have} bytes"
                samples += offset > 0
                time.sleep(0.01)
        got = run.wait_arrived(run.written)
        size = run.log.stat().st_size
        wait_for(lambda: run.offset() == size, 5, what="the checkpoint at the end of the input")
        assert d.stop() == 0
    check_sequence([m for _, m in got], run.written)
    assert run.offset() == size
    assert samples, "no checkpoint was committed while lines flowed: nothing was compared"


@pytest.mark.parametrize("kind", sorted(NO_FAULT))
def test_no_fault_injector_is_a_known_kind(kind: str) -> None:
    assert kind in KINDS, f"NO_FAULT names {kind!r}, which is not a sink kind"


def test_retries_a_destination_that_fails_then_heals(faulty: Run) -> None:
    """Down from the start: writes fail (counted), nothing arrives, nothing is
    acknowledged; once up, every line arrives exactly once."""
    run = faulty
    run.configure()
    run.harness.down()
    run.append(300)
    with run.daemon() as d:
        d.wait_started()
        wait_for(lambda: run.metric("logproc_sink_errors_total", sink="out") >= 2, 10,
                 what="failed writes")
        time.sleep(0.3)  # commits happen every 0.2 s: one would show an early acknowledgement
        assert run.offset() == 0, "acknowledged while the destination was down"
        assert run.arrived() == []
        run.harness.up()
        got = run.wait_arrived(300)
        size = run.log.stat().st_size
        wait_for(lambda: run.offset() == size, 5, what="the checkpoint at the end of the input")
        assert run.metric("logproc_sink_retries_total", sink="out") >= 1
        assert d.stop() == 0
    check_sequence([m for _, m in got], 300)


def test_flushes_what_it_holds_at_shutdown(run: Run) -> None:
    """Every line read, then SIGTERM at once: all of them at the destination, exit 0, the
    checkpoint at the end of the input (a batching sink still lingers over them)."""
    run.configure(linger=True)
    n = 2000
    run.append(n)
    with run.daemon() as d:
        d.wait_started()
        wait_for(lambda: run.metric("logproc_source_lines_read_total", source="in") == n, 10,
                 interval=0.005, what="every line read")
        d.signal(signal.SIGTERM)
        assert d.wait(15) == 0, d.log()
    check_sequence([m for _, m in run.arrived()], n)
    assert run.offset() == run.log.stat().st_size


def test_sigkill_then_restart_loses_nothing(run: Run) -> None:
    """SIGKILL while lines flow, then a restart: every line at the destination. Lines
    delivered but not yet acknowledged when the daemon died may come again (at least once;
    a destination that deduplicates by the entries' identity keeps them once)."""
    run.configure()
    n = 4000
    run.append(n)
    with run.daemon() as d:
        d.wait_started()
        wait_for(lambda: len(run.arrived()) >= n // 4, 15, interval=0.005,
                 what="a quarter of the lines at the destination")
        d.kill()
    before = len(run.arrived())
    run.append(500)
    with run.daemon() as d:
        d.wait_started()
        wait_for(lambda: len(set(seqs([m for _, m in run.arrived()]))) >= run.written, 20,
                 what="every line at the destination")
        size = run.log.stat().st_size
        wait_for(lambda: run.offset() == size, 5, what="the checkpoint at the end of the input")
        assert d.stop() == 0
    check_sequence([m for _, m in run.arrived()], run.written, allow_dups=before)


def test_rebuilt_at_reload(run: Run) -> None:
    """Form 0, then the sink's config changed and SIGHUP: lines written after the reload
    arrive in form 1; none lost or repeated across it."""
    run.configure(form=0)
    with run.daemon() as d:
        d.wait_started()
        run.append(200)
        before = run.wait_arrived(200)
        assert {form for form, _ in before} == {0}
        run.append(200)  # in flight at the reload: either form
        run.configure(form=1)
        d.signal(signal.SIGHUP)
        wait_for(lambda: '"reloaded"' in d.log() or "event=reloaded" in d.log(), 10, what="the reload")
        after_from = run.written
        run.append(200)
        got = run.wait_arrived(600)
        assert d.stop() == 0
    got = run.arrived()
    check_sequence([m for _, m in got], 600)
    late = [form for form, n in zip([f for f, _ in got], seqs([m for _, m in got]), strict=True)
            if n >= after_from]
    assert late == [1] * 200, "lines written after the reload arrive in the new form"
    assert "invalid config" not in d.log()


def test_counts_entries_written(run: Run) -> None:
    run.configure()
    n = 700
    with run.daemon() as d:
        d.wait_started()
        assert run.metric(WRITTEN, sink="out") == 0
        run.append(n)
        got = run.wait_arrived(n)
        wait_for(lambda: run.metric(WRITTEN, sink="out") == n, 5, what=f"{WRITTEN} == {n}")
        assert run.metric("logproc_sink_dead_lettered_total", sink="out") in (0, -1)
        assert d.stop() == 0
    check_sequence([m for _, m in got], n)
