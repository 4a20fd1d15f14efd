"""The bounded batch queue between sources (producers) and consumers.

Contract:
- Items are `Batch`es, each of one *stream* (`Batch.stream`: a file read in order, the
  journal, one syslog connection). The bound (`capacity`) counts *entries*, not batches.
  A producer whose batch does not fit waits; a batch larger than the whole capacity is
  let in when the queue is empty, so an oversized batch can never deadlock.
- Order within a stream is the queue's promise, through **leases**. `get()` returns a
  `Lease`: the batch and its number in its stream. Several batches of one stream may be
  leased at once (consumers parse and format them side by side, in worker processes the
  slow part), but `lease.wait_turn()` returns only once every earlier lease of the stream
  is `done()`. A consumer computes, waits for its turn, hands the result to the sinks and
  registers it for acknowledgement, then calls `done()`: sinks and the ack tracker see
  each stream's batches in order. A lease never done (its consumer died) stops its
  stream there, rather than letting a checkpoint pass lines never delivered; /health
  names the dead consumer.
- Priority: among streams with a batch waiting, the highest `priority` goes first;
  streams of the same priority take turns (round-robin), so a busy file cannot starve a
  quiet one. Room goes by priority too: a producer that found the queue full leaves a
  *claim* for its priority, and while a claim of a higher priority stands (it lapses
  after `CLAIM_SECONDS` unless renewed by the waiting producer), lower-priority batches
  wait even if they would fit. Without it the room a consumer frees goes to whichever
  producer wakes first, and a full queue of low-priority batches makes the high-priority
  source wait its turn: priority would only reorder what already sits in the queue.
- Closing is the shutdown protocol (trio's channels): after `close()` every `put` raises
  `QueueClosed` (the lines stay in their files, unacknowledged), waiting producers wake
  up, and consumers drain what is left, after which `get` returns None.

Lock discipline: one `threading.Condition` guards the queue, one per stream its turns;
every wait has a timeout or a predicate that `close` satisfies.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from logproc.batch import Batch
from logproc.errors import QueueClosed

CLAIM_SECONDS = 1.0  # a claim for room lapses unless its producer renews it while waiting


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int  # entries queued
    capacity: int
    batches: int
    peak: int
    waiting_producers: int
    in_flight: int  # batches leased and not yet done


class _Stream:
    """One stream's batches waiting, and its turns (leases handed out, leases done)."""

    __slots__ = ("batches", "done", "leased", "priority", "turn")

    def __init__(self, priority: int) -> None:
        self.priority = priority
        self.batches: deque[Batch] = deque()
        self.leased = 0  # leases handed out (the next lease's number)
        self.done = 0  # leases done, all of them earlier than any lease not done
        self.turn = threading.Condition(threading.Lock())


class Lease:
    """A batch handed to one consumer, with its place in its stream (see the module doc)."""

    __slots__ = ("_queue", "_stream", "batch", "seq")

    def __init__(self, queue: BatchQueue, stream: _Stream, batch: Batch, seq: int) -> None:
        self._queue = queue
        self._stream = stream
        self.batch = batch
        self.seq = seq

    def wait_turn(self, timeout: float | None = None) -> bool:
        """Block until every earlier lease of the stream is done; False on timeout."""
        s = self._stream
        with s.turn:
            return s.turn.wait_for(lambda: s.done == self.seq, timeout)

    def done(self) -> None:
        """This batch was handed on in order: the stream's next lease may go. Call once,
        after `wait_turn`."""
        s = self._stream
        with s.turn:
            s.done = self.seq + 1
            s.turn.notify_all()
        self._queue._finished(self.batch.stream, s)


class BatchQueue:
    """Bounded, closable, per-stream-ordered, prioritised queue of batches."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._cond = threading.Condition(threading.Lock())
        self._streams: dict[str, _Stream] = {}  # streams with batches waiting or leases out
        self._ready: dict[int, deque[str]] = {}  # priority -> streams with a batch waiting
        self._priorities: list[int] = []  # sorted descending
        self._claims: dict[int, float] = {}  # priority -> when its claim for room lapses
        self._depth = 0
        self._batches = 0
        self._peak = 0
        self._waiting = 0
        self._closed = False

    # -- producers ---------------------------------------------------------------------
    def put(self, batch: Batch, timeout: float | None = None) -> bool:
        """Enqueue `batch`, waiting while it does not fit (or a higher priority claims the
        room). Returns False on timeout. Raises QueueClosed once the queue is closed (also
        while waiting)."""
        n, prio = len(batch), batch.priority
        with self._cond:
            if not self._admits(n, prio):
                self._waiting += 1
                try:
                    ok = self._wait_room(n, prio, timeout)
                finally:
                    self._waiting -= 1
                if not ok:
                    return False
            if self._closed:
                raise QueueClosed
            self._claims.pop(prio, None)
            s = self._streams.get(batch.stream)
            if s is None:
                s = self._streams[batch.stream] = _Stream(prio)
            s.priority = prio
            s.batches.append(batch)
            if len(s.batches) == 1:
                self._mark_ready(batch.stream, prio)
            self._depth += n
            self._batches += 1
            self._peak = max(self._peak, self._depth)
            self._cond.notify_all()
            return True

    def wait_for_room(self, n: int, timeout: float, priority: int = 0) -> bool:
        """Wait up to `timeout` s until a batch of `n` entries of `priority` would be let in
        (or the queue closes); True when it would. For producers that must not block in
        `put` (see `FileSource`); the wait renews their claim."""
        with self._cond:
            return self._closed or self._admits(n, priority) or self._wait_room(n, priority, timeout)

    def _admits(self, n: int, prio: int) -> bool:
        if self._depth and self._depth + n > self.capacity:
            self._claim(prio)
            return False
        if self._claims:
            now = time.monotonic()
            if any(p > prio and until > now for p, until in self._claims.items()):
                return False
        return True

    def _claim(self, prio: int) -> None:
        self._claims[prio] = time.monotonic() + CLAIM_SECONDS

    def _wait_room(self, n: int, prio: int, timeout: float | None) -> bool:
        """Wait (lock held) until `n` entries of `prio` are admitted or the queue closes,
        renewing the claim; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (self._closed or self._admits(n, prio)):
            left = CLAIM_SECONDS / 4
            if deadline is not None:
                left = min(left, deadline - time.monotonic())
            if left <= 0:
                return False
            self._cond.wait(left)
        return True

    def _mark_ready(self, stream: str, priority: int) -> None:
        ready = self._ready.get(priority)
        if ready is None:
            ready = self._ready[priority] = deque()
            self._priorities.append(priority)
            self._priorities.sort(reverse=True)
        ready.append(stream)

    # -- consumers ---------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> Lease | None:
        """Lease the next batch; None when closed and drained (or on timeout: check `closed`)."""
        with self._cond:
            while True:
                for prio in self._priorities:
                    ready = self._ready[prio]
                    if ready:
                        key = ready.popleft()
                        s = self._streams[key]
                        batch = s.batches.popleft()
                        if s.batches:  # to the back of the line: streams take turns
                            self._mark_ready(key, s.priority)
                        lease = Lease(self, s, batch, s.leased)
                        s.leased += 1
                        self._depth -= len(batch)
                        self._batches -= 1
                        self._cond.notify_all()
                        return lease
                if self._closed and not self._batches:
                    return None
                if not self._cond.wait(timeout) and timeout is not None:
                    return None

    def _finished(self, key: str, s: _Stream) -> None:
        with self._cond:
            if not s.batches and s.done == s.leased and self._streams.get(key) is s:
                del self._streams[key]  # a stream seen again starts afresh (numbers from 0)

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
        """Batches of `source` queued, or leased and not yet done."""
        prefix = source + "/"
        with self._cond:
            return sum(len(s.batches) + s.leased - s.done
                       for k, s in self._streams.items() if k.startswith(prefix))

    @property
    def depth(self) -> int:
        """Entries queued now (read without the lock: a snapshot for status and metrics)."""
        return self._depth

    def stats(self) -> QueueStats:
        with self._cond:
            return QueueStats(self._depth, self.capacity, self._batches, self._peak, self._waiting,
                              sum(s.leased - s.done for s in self._streams.values()))
