"""Messages gathered into batches for the queue, without ever blocking the receiver's loop.

A batch per message would cost more than the message itself, so messages wait in a
*pending* batch per (stream, peer) until `MAX_BATCH` of them are there or the first has
waited `MAX_AGE` seconds. `flush` puts due batches on the queue without waiting (a put
with no timeout); a batch that does not fit stays pending and `blocked` says so, and the
caller decides: a stream connection stops being read (its sender blocks: backpressure),
a datagram that finds its pending batch full is dropped and counted
(`stats.dropped["receiver_full"]`). Only `drain` waits: at stop, with a deadline; what
does not fit by then is counted lost (`stats.lost_entries["shutdown"]`).

Batches carry no checkpoint record: a receiver cannot ask for anything again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from logproc.batch import Batch
from logproc.errors import QueueClosed

if TYPE_CHECKING:
    from logproc.pipeline.queue import BatchQueue
    from logproc.sources.base import SourceStats

MAX_BATCH = 500  # messages in one batch
MAX_AGE = 0.02  # seconds the first message of a batch waits for company


class Pending:
    __slots__ = ("lines", "path", "since", "stream", "wall")

    def __init__(self, stream: str, path: str) -> None:
        self.stream = stream
        self.path = path
        self.lines: list[bytes] = []
        self.since = 0.0  # monotonic time of the first line
        self.wall = 0.0  # its wall-clock time (the batch's read_time)


class Batcher:
    """Pending batches of one source (used by its thread only)."""

    def __init__(self, name: str, priority: int, queue: BatchQueue, stats: SourceStats) -> None:
        self.name = name
        self.priority = priority
        self.queue = queue
        self.stats = stats
        self.pending: dict[tuple[str, str], Pending] = {}
        self.blocked = False  # the last flush found the queue full
        self.closed = False  # the queue refused for good (shutdown)

    def add(self, stream: str, path: str, msgs: list[bytes]) -> Pending:
        """Count and hold `msgs` (empty ones are counted and left out)."""
        key = (stream, path)
        p = self.pending.get(key)
        if p is None:
            p = self.pending[key] = Pending(stream, path)
        st = self.stats
        for m in msgs:
            if m:
                if not p.lines:
                    p.since, p.wall = time.monotonic(), time.time()
                p.lines.append(m)
                st.bytes += len(m)
            else:
                st.empty += 1
        st.lines += len(msgs)
        return p

    def full(self, p: Pending) -> bool:
        return len(p.lines) >= MAX_BATCH

    def next_due(self) -> float | None:
        """Seconds until the oldest pending batch is due; None: nothing pending."""
        oldest = min((p.since for p in self.pending.values() if p.lines), default=None)
        if oldest is None:
            return None
        return max(0.0, oldest + MAX_AGE - time.monotonic())

    def flush(self, force: bool = False) -> bool:
        """Put every due batch (every one with `force`) that fits now; True when none is
        left due. Sets `blocked`."""
        now = time.monotonic()
        self.blocked = False
        for key, p in list(self.pending.items()):
            if not p.lines:
                del self.pending[key]
                continue
            while p.lines and (force or len(p.lines) >= MAX_BATCH or now - p.since >= MAX_AGE):
                if not self._put(p, 0):
                    self.blocked = True
                    return False
        return True

    def drain(self, deadline: float) -> None:
        """Put everything pending, waiting for room until `deadline` (monotonic)."""
        for key, p in list(self.pending.items()):
            while p.lines and not self.closed:
                if not self._put(p, max(0.0, deadline - time.monotonic())):
                    break
            if p.lines:
                lost = self.stats.lost_entries
                lost["shutdown"] = lost.get("shutdown", 0) + len(p.lines)
                p.lines = []
            del self.pending[key]

    def _put(self, p: Pending, timeout: float) -> bool:
        """Put (up to MAX_BATCH of) `p`'s lines; False when they did not fit in time."""
        lines = p.lines[:MAX_BATCH]
        batch = Batch(self.name, p.stream, p.path, lines, 0, 0, p.wall, self.priority)
        try:
            if not self.queue.put(batch, timeout):
                return False
        except QueueClosed:
            self.closed = True
            return False
        del p.lines[:len(lines)]
        if p.lines:
            p.since, p.wall = time.monotonic(), time.time()
        return True
