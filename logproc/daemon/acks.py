"""Acknowledgement tracking: a file's checkpoint advances only past batches that every
sink they were routed to has acknowledged, and only in file order.

Each batch taken by a consumer gets a `Ticket` counting the sinks it was handed to. Sinks
ack in any order; a file's delivered offset moves to the end of the longest prefix of its
batches whose tickets are complete. With a zero count (everything filtered, or only empty
lines) the ticket is complete at once.
"""

from __future__ import annotations

import threading
from collections import deque

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore


class Ticket:
    __slots__ = ("end", "gen", "key", "remaining", "tracker")

    def __init__(self, tracker: AckTracker, key: str, end: int, gen: int, remaining: int) -> None:
        self.tracker = tracker
        self.key = key
        self.end = end
        self.gen = gen
        self.remaining = remaining

    def ack(self) -> None:
        self.tracker._ack(self)


class AckTracker:
    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict[str, deque[Ticket]] = {}
        self.bytes_acked = 0

    def open(self, batch: Batch, sinks: int) -> Ticket:
        """Register `batch` (in file order) as handed to `sinks` sinks."""
        t = Ticket(self, batch.key, batch.end, batch.gen, sinks)
        with self._lock:
            q = self._pending.get(batch.key)
            if q is None:
                q = self._pending[batch.key] = deque()
            q.append(t)
            if sinks == 0:
                self._settle(batch.key, q)
        return t

    def _ack(self, t: Ticket) -> None:
        with self._lock:
            t.remaining -= 1
            if t.remaining == 0:
                q = self._pending.get(t.key)
                if q is not None:
                    self._settle(t.key, q)

    def _settle(self, key: str, q: deque[Ticket]) -> None:
        last: Ticket | None = None
        while q and q[0].remaining <= 0:
            last = q.popleft()
        if not q:
            del self._pending[key]
        if last is not None:
            self.store.advance(key, last.end, last.gen)

    def in_flight(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._pending.values())
