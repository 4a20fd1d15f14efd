"""The bounded batch queue between watchers (producers) and consumers.

Contract:
- Items are `Batch`es; the bound (`capacity`) counts *entries* (lines), not batches. A
  producer whose batch does not fit waits; a batch larger than the whole capacity is let in
  when the queue is empty, so an oversized batch can never deadlock.
- Per-file order: batches of one file are handed out one at a time. A consumer that took a
  batch of file F must call `release(batch)` once it has handed the batch to its sinks; no
  other batch of F is handed out before that. Sinks therefore see each file's lines in
  order even with many consumers.
- Priority: among files with a batch ready, the highest `priority` goes first; files of the
  same priority take turns (round-robin), so a busy file cannot starve a quiet one.
- Closing is the shutdown protocol (trio's channels): after `close()` every `put` raises
  `QueueClosed` (the lines stay in their files, unacknowledged), waiting producers wake up,
  and consumers drain what is left, after which `get` returns None.

Lock discipline: one `threading.Condition` guards everything; every wait has a timeout so
that a stop request is never missed.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from logproc.batch import Batch
from logproc.errors import QueueClosed


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int  # entries queued
    capacity: int
    batches: int
    peak: int
    waiting_producers: int
    in_flight: int  # batches taken and not yet released


class BatchQueue:
    """Bounded, closable, per-file-ordered, prioritised queue of batches."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._cond = threading.Condition(threading.Lock())
        self._files: dict[str, deque[Batch]] = {}  # key -> batches waiting, in order
        self._busy: set[str] = set()  # keys with a batch in flight
        self._ready: dict[int, deque[str]] = {}  # priority -> keys with a batch, not busy
        self._priorities: list[int] = []  # sorted descending
        self._depth = 0
        self._batches = 0
        self._peak = 0
        self._waiting = 0
        self._closed = False

    # -- producers ---------------------------------------------------------------------
    def put(self, batch: Batch, timeout: float | None = None) -> bool:
        """Enqueue `batch`, waiting while it does not fit. Returns False on timeout.

        Raises QueueClosed once the queue is closed (also while waiting).
        """
        n = len(batch)
        with self._cond:
            if self._depth and self._depth + n > self.capacity:
                self._waiting += 1
                try:
                    ok = self._cond.wait_for(
                        lambda: self._closed or not self._depth or self._depth + n <= self.capacity,
                        timeout,
                    )
                finally:
                    self._waiting -= 1
                if not ok:
                    return False
            if self._closed:
                raise QueueClosed
            key = batch.key
            q = self._files.get(key)
            if q is None:
                q = self._files[key] = deque()
            q.append(batch)
            if len(q) == 1 and key not in self._busy:
                self._mark_ready(key, batch.priority)
            self._depth += n
            self._batches += 1
            self._peak = max(self._peak, self._depth)
            self._cond.notify_all()
            return True

    def wait_for_room(self, n: int, timeout: float) -> bool:
        """Wait up to `timeout` s until a batch of `n` entries would fit (or the queue closes);
        True when it would. For producers that must not block in `put` (see `FileSource`)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or not self._depth or self._depth + n <= self.capacity, timeout)

    def _mark_ready(self, key: str, priority: int) -> None:
        ready = self._ready.get(priority)
        if ready is None:
            ready = self._ready[priority] = deque()
            self._priorities.append(priority)
            self._priorities.sort(reverse=True)
        ready.append(key)

    # -- consumers ---------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> Batch | None:
        """Take the next batch; None when closed and drained (or on timeout: check `closed`)."""
        with self._cond:
            while True:
                for prio in self._priorities:
                    ready = self._ready[prio]
                    if ready:
                        key = ready.popleft()
                        q = self._files[key]
                        batch = q.popleft()
                        if not q:
                            del self._files[key]
                        self._busy.add(key)
                        self._depth -= len(batch)
                        self._batches -= 1
                        self._cond.notify_all()
                        return batch
                if self._closed and not self._batches:
                    return None
                if not self._cond.wait(timeout) and timeout is not None:
                    return None

    def release(self, batch: Batch) -> None:
        """The consumer is done handing `batch` to its sinks: its file's next batch may go."""
        with self._cond:
            key = batch.key
            self._busy.discard(key)
            if key in self._files:
                self._mark_ready(key, batch.priority)
                self._cond.notify_all()

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Refuse further batches; consumers drain what is queued, then get None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self, source: str) -> int:
        """Batches of `source` queued, or taken and not yet released (a consumer releases an
        ordered batch as soon as it takes it: `Consumer.holding` covers those)."""
        prefix = source + "/"
        with self._cond:
            return (sum(len(q) for k, q in self._files.items() if k.startswith(prefix))
                    + sum(1 for k in self._busy if k.startswith(prefix)))

    @property
    def depth(self) -> int:
        """Entries queued now (read without the lock: a snapshot for status and metrics)."""
        return self._depth

    def stats(self) -> QueueStats:
        with self._cond:
            return QueueStats(self._depth, self.capacity, self._batches, self._peak,
                              self._waiting, len(self._busy))
