"""BatchQueue: bounded by entries, per-stream order through leases, priority (of turns and
of room), close-to-shutdown."""

from __future__ import annotations

import random
import threading
import time

import pytest

from logproc.batch import Batch
from logproc.errors import QueueClosed
from logproc.pipeline import queue as queue_module
from logproc.pipeline.queue import BatchQueue, Lease


def _batch(key: str, n: int, start: int = 0, priority: int = 0) -> Batch:
    return Batch("s", f"s/{key}", f"/{key}", [b"x"] * n, start, start + n, 0.0, priority)


def _take(q: BatchQueue, timeout: float = 0) -> Lease:
    lease = q.get(timeout)
    assert lease is not None
    return lease


class TestBatchQueue:
    def test_a_stream_is_handed_on_in_order_whatever_the_consumers_do(self):
        """Two batches of one stream may be leased at once; the later one's turn comes only
        when the earlier is done, and the stream's numbers follow the put order."""
        q = BatchQueue(100)
        a1, a2, b1 = _batch("a", 1), _batch("a", 1, 1), _batch("b", 1)
        for b in (a1, a2, b1):
            q.put(b)
        first, other, second = _take(q), _take(q), _take(q)
        assert (first.batch, other.batch, second.batch) == (a1, b1, a2)  # streams take turns
        assert (first.seq, second.seq, other.seq) == (0, 1, 0)
        assert other.wait_turn(0) is True  # another stream: its own turns
        assert second.wait_turn(0.01) is False  # a1 is not done yet
        done = threading.Event()

        def later() -> None:
            second.wait_turn()
            done.set()

        t = threading.Thread(target=later)
        t.start()
        assert not done.wait(0.05)
        assert first.wait_turn(0) is True
        first.done()
        assert done.wait(5)
        t.join(5)
        second.done()
        assert q.stats().in_flight == 1  # b1's lease is still out
        other.done()
        assert q.stats().in_flight == 0

    def test_a_lease_never_done_stops_its_stream_only(self):
        q = BatchQueue(100)
        q.put(_batch("a", 1))
        q.put(_batch("a", 1, 1))
        q.put(_batch("b", 1))
        stuck = _take(q)
        later = [_take(q), _take(q)]
        assert stuck.batch.stream == "s/a"
        a2 = next(lease for lease in later if lease.batch.stream == "s/a")
        b1 = next(lease for lease in later if lease.batch.stream == "s/b")
        assert a2.wait_turn(0.05) is False
        assert b1.wait_turn(0) is True
        assert q.pending("s") == 3  # leased, not done: reload waits on them

    def test_higher_priority_goes_first(self):
        """Among streams with a batch waiting, the highest priority is served first."""
        q = BatchQueue(100)
        low, high = _batch("low", 1, priority=0), _batch("high", 1, priority=5)
        q.put(low)
        q.put(high)
        assert _take(q).batch is high

    def test_streams_of_equal_priority_take_turns(self):
        """Round-robin: a busy file cannot starve a quiet one."""
        q = BatchQueue(100)
        for i in range(3):
            q.put(_batch("busy", 1, i))
        _take(q)
        quiet = _batch("quiet", 1)
        q.put(quiet)  # busy is already back in line: quiet comes after its next batch
        assert [_take(q).batch.stream for _ in range(3)] == ["s/busy", "s/quiet", "s/busy"]

    def test_full_queue_makes_producers_wait_and_counts_entries(self):
        """The bound counts entries; a put that does not fit waits until there is room."""
        q = BatchQueue(10)
        q.put(_batch("a", 8))
        assert q.put(_batch("b", 3), timeout=0.05) is False
        assert q.stats().depth == 8
        _take(q)
        assert q.stats().depth == 0
        assert q.put(_batch("b", 3), timeout=0.05) is True

    def test_room_goes_to_the_higher_priority_first(self, monkeypatch: pytest.MonkeyPatch):
        """A high-priority producer that found the queue full is let in before a low one
        whose batch would fit; its claim lapses when it stops asking."""
        monkeypatch.setattr(queue_module, "CLAIM_SECONDS", 0.2)
        q = BatchQueue(10)
        q.put(_batch("low", 6))
        assert q.put(_batch("high", 6, priority=5), timeout=0) is False  # does not fit: claims
        _take(q)  # room for one of them
        assert q.put(_batch("low", 3, 6), timeout=0) is False  # it fits, but high claimed
        assert q.wait_for_room(3, 0.05) is False
        assert q.put(_batch("high", 6, priority=5), timeout=0) is True
        time.sleep(0.25)  # the claim was taken up: nothing stands in the way
        assert q.put(_batch("low", 3, 6), timeout=0) is True

    def test_an_unrenewed_claim_lapses(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(queue_module, "CLAIM_SECONDS", 0.1)
        q = BatchQueue(10)
        q.put(_batch("low", 6))
        assert q.put(_batch("high", 6, priority=5), timeout=0) is False
        _take(q)
        assert q.put(_batch("low", 3, 6), timeout=0) is False
        assert q.put(_batch("low", 3, 6), timeout=1.0) is True  # the high producer went away

    def test_oversized_batch_enters_an_empty_queue(self):
        """A batch larger than the capacity cannot deadlock."""
        q = BatchQueue(2)
        assert q.put(_batch("a", 5), timeout=0.05) is True

    def test_close_wakes_waiting_producers_and_consumers_drain(self):
        """After close, put raises QueueClosed; consumers drain, then get None."""
        q = BatchQueue(1)
        first = _batch("a", 1)
        q.put(first)
        raised = threading.Event()

        def producer():
            try:
                q.put(_batch("b", 1))
            except QueueClosed:
                raised.set()

        t = threading.Thread(target=producer)
        t.start()
        q.close()
        t.join(5)
        assert raised.is_set()
        lease = _take(q)
        assert lease.batch is first
        lease.done()
        assert q.get(0.01) is None
        with pytest.raises(QueueClosed):
            q.put(_batch("c", 1))


def test_submissions_follow_stream_order_whatever_order_work_finishes() -> None:
    """40 leases of one stream, computed for random whiles by 40 threads at once, are
    handed on in the order they were put."""
    q = BatchQueue(1000)
    for i in range(40):
        q.put(_batch("a", 1, i))
    leases = [_take(q) for _ in range(40)]
    order: list[int] = []
    rng = random.Random(7)
    delays = [rng.random() / 200 for _ in range(40)]
    start = threading.Barrier(40)

    def consumer(lease: Lease) -> None:
        start.wait()
        threading.Event().wait(delays[lease.seq])  # "computing", for a random while
        assert lease.wait_turn(timeout=10)
        order.append(lease.batch.start)
        lease.done()

    threads = [threading.Thread(target=consumer, args=(lease,)) for lease in reversed(leases)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert order == list(range(40))
    assert q.stats().in_flight == 0 and q.pending("s") == 0
