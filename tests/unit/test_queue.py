"""BatchQueue: bounded by entries, per-file order, priority, close-to-shutdown."""

from __future__ import annotations

import threading

import pytest

from logproc.batch import Batch
from logproc.errors import QueueClosed
from logproc.pipeline.queue import BatchQueue


def _batch(key: str, n: int, start: int = 0, priority: int = 0) -> Batch:
    return Batch("s", key, f"/{key}", [b"x"] * n, start, start + n, 0.0, priority)


class TestBatchQueue:
    def test_a_file_is_handed_out_one_batch_at_a_time(self):
        """The next batch of a file waits until the previous one is released."""
        q = BatchQueue(100)
        a1, a2, b1 = _batch("a", 1), _batch("a", 1, 1), _batch("b", 1)
        for b in (a1, a2, b1):
            q.put(b)
        assert q.get(0) is a1
        assert q.get(0) is b1
        assert q.get(0.01) is None  # a2 is held back: a1 is in flight
        q.release(a1)
        assert q.get(0) is a2

    def test_higher_priority_goes_first(self):
        """Among ready files, the highest priority is served first."""
        q = BatchQueue(100)
        low, high = _batch("low", 1, priority=0), _batch("high", 1, priority=5)
        q.put(low)
        q.put(high)
        assert q.get(0) is high

    def test_files_of_equal_priority_take_turns(self):
        """Round-robin: a busy file cannot starve a quiet one."""
        q = BatchQueue(100)
        busy = [_batch("busy", 1, i) for i in range(3)]
        for b in busy:
            q.put(b)
        quiet = _batch("quiet", 1)
        got = q.get(0)
        q.put(quiet)
        q.release(got)  # busy goes to the back of the line
        assert q.get(0) is quiet

    def test_full_queue_makes_producers_wait_and_counts_entries(self):
        """The bound counts entries; a put that does not fit waits until there is room."""
        q = BatchQueue(10)
        q.put(_batch("a", 8))
        assert q.put(_batch("b", 3), timeout=0.05) is False
        assert q.stats().depth == 8
        got = q.get(0)
        assert got is not None and q.stats().depth == 0
        assert q.put(_batch("b", 3), timeout=0.05) is True

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
        assert q.get(0) is first
        q.release(first)
        assert q.get(0.01) is None
        with pytest.raises(QueueClosed):
            q.put(_batch("c", 1))
