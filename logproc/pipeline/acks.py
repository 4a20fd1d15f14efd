"""Acknowledgement tracking: a stream's checkpoint advances only past batches that every
sink they were routed to has acknowledged, and only in order.

Each batch a consumer hands on gets a `Ticket` counting the sinks it was handed to,
opened in the stream's order (the queue's leases see to it). Sinks ack in any order; a
stream's checkpoint moves to the end of the longest prefix of its batches whose tickets
are complete. With a zero count (everything filtered, or only empty lines) the ticket is
complete at once. Tickets advance the checkpoint *record* the batch was read for (see
`CheckpointStore`), whatever kind of position it holds, so re-keying or replacing
records while batches are in flight is safe. A batch with no record (a receiver's) only
counts as in flight until acknowledged.
"""

from __future__ import annotations

import threading
from collections import deque

from logproc.batch import Batch
from logproc.checkpoints import Checkpoint, CheckpointStore


class Ticket:
    __slots__ = ("end", "record", "remaining", "stream", "tail", "tracker")

    def __init__(self, tracker: AckTracker, batch: Batch, remaining: int) -> None:
        self.tracker = tracker
        self.stream = batch.stream
        self.record: Checkpoint | None = batch.record
        self.end = batch.end
        self.tail = batch.tail
        self.remaining = remaining

    def ack(self) -> None:
        self.tracker._ack(self)


class AckTracker:
    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict[str, deque[Ticket]] = {}

    def open(self, batch: Batch, sinks: int) -> Ticket:
        """Register `batch` (in its stream's order) as handed to `sinks` sinks."""
        t = Ticket(self, batch, sinks)
        with self._lock:
            q = self._pending.get(batch.stream)
            if q is None:
                q = self._pending[batch.stream] = deque()
            q.append(t)
            if sinks == 0:
                self._settle(batch.stream, q)
        return t

    def _ack(self, t: Ticket) -> None:
        with self._lock:
            t.remaining -= 1
            if t.remaining == 0:
                q = self._pending.get(t.stream)
                if q is not None:
                    self._settle(t.stream, q)

    def _settle(self, stream: str, q: deque[Ticket]) -> None:
        done: list[Ticket] = []
        while q and q[0].remaining <= 0:
            done.append(q.popleft())
        if not q:
            del self._pending[stream]
        # the last completed ticket per record (a stream can move to a copy's record)
        last: dict[int, Ticket] = {}
        for t in done:
            if t.record is not None:
                last[id(t.record)] = t
        for t in last.values():
            assert t.record is not None
            self.store.advance(t.record, t.end, t.tail)

    def in_flight(self, source: str | None = None) -> int:
        """Batches handed to sinks and not yet acknowledged by all (of `source`, or all)."""
        with self._lock:
            if source is None:
                return sum(len(q) for q in self._pending.values())
            prefix = source + "/"
            return sum(len(q) for k, q in self._pending.items() if k.startswith(prefix))
