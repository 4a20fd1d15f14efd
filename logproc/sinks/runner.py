"""One thread per sink, behind a bounded inbox.

Consumers `submit` deliveries; the runner takes everything waiting, has the sink write and
flush it in one go, then acknowledges each delivery in order. The inbox bound counts
entries (like the queue), so memory stays bounded when a sink is slow or down:
- `when_full = "block"`: `submit` waits for room (the queue fills, the sources wait,
  the lines stay in their files: backpressure, never loss);
- `when_full = "drop"`: the sink is best-effort. A delivery is acknowledged as soon as it
  is queued here, and one that does not fit is dropped and counted as `sink_full`, so
  this sink never holds the others back, nor their checkpoints. At shutdown it gets a
  short grace to write what it holds, then it is abandoned (and its count logged).

Batching sinks set `linger`: once a delivery waits, the runner waits up to that long for
`linger_entries` entries before writing, so small trickles become one request.

Write failures: `RetriableSinkError` and `OSError` are retried forever with jittered
backoff (a full disk or a dead pipe heals, the lines wait); a `FatalSinkError` sends the
entries to the dead-letter file (when that file cannot be written, the entries wait,
unacknowledged, and the write is tried again). Any other exception is a bug: it is logged (masked, with
its traceback) and retried like an `OSError`, so a sink thread never dies and nothing is
acknowledged that was not written. Closing is the shutdown protocol: `close()` lets the
runner drain its inbox, then it closes the sink and the thread ends.

Counting: `entries_written` counts what the sink delivered; entries dead-lettered (a whole
write refused, or requests/items refused inside one, which the sink counts in its own
`dead_lettered`) are counted apart in `dead_lettered`, never as written. A sink whose
last `REFUSING_AFTER` writes delivered nothing and were all refused is `refusing` (its
last refusal kept): `/health` and systemd's `STATUS=` name it until a write delivers again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from logproc.errors import FatalSinkError, RetriableSinkError
from logproc.log import get_logger
from logproc.metrics.histogram import DurationHistogram
from logproc.sinks.base import Delivery, Sink, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.retry import Backoff

log = get_logger("sink")

MAX_WRITE_ENTRIES = 50_000  # entries per write call, so a huge backlog is written in steps
REFUSING_AFTER = 3  # writes in a row refused entirely before the sink counts as refusing


@dataclass(slots=True)
class SinkStats:
    entries_written: int = 0
    payloads_written: int = 0
    errors: int = 0
    retries: int = 0
    dropped_full: int = 0
    dropped_min_level: int = 0
    dropped_filter: int = 0
    dead_lettered: int = 0
    refused_in_a_row: int = 0  # writes in a row that delivered nothing and dead-lettered all
    last_refusal: str = ""  # why the latest refused write was refused (status and reason)

    @property
    def refusing(self) -> bool:
        return self.refused_in_a_row >= REFUSING_AFTER


class SinkRunner:
    def __init__(self, sink: Sink, capacity: int, when_full: str, dead_letters: DeadLetters,
                 after_write: Callable[[], None] | None = None, linger: float = 0.0,
                 linger_entries: int = 0) -> None:
        self.sink = sink
        self.name = sink.name
        self.capacity = max(1, capacity)
        self.drop_when_full = when_full == "drop"
        self.dead_letters = dead_letters
        self.after_write = after_write  # e.g. a light checkpoint commit, right after the acks
        # batching sinks (http): once something waits, wait up to `linger` seconds for
        # `linger_entries` entries before writing (closing or a full inbox ends the wait)
        self.linger = linger
        self.linger_entries = min(linger_entries, self.capacity)
        self.stats = SinkStats()
        self.write_durations = DurationHistogram()  # each sink.write attempt; sink thread only
        self._inbox: deque[Delivery] = deque()
        self._depth = 0
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._abort = threading.Event()
        if hasattr(sink, "set_abort"):  # sinks that retry inside write (http) stop on abort too
            sink.set_abort(self._abort)
        self._reopen = False
        self._dropping = False  # logged once per episode, not per delivery
        self.last_progress = time.monotonic()
        self.busy_since = 0.0  # monotonic time the write in progress began (0: none)
        self.attempt_at = 0.0  # monotonic time of its latest attempt (retries count as life)
        self.thread = threading.Thread(target=self._run, name=f"sink-{self.name}", daemon=False)

    def start(self) -> None:
        self.thread.start()

    # -- consumers' side ---------------------------------------------------------------
    def submit(self, d: Delivery) -> None:
        with self._cond:
            if self._depth and self._depth + d.entries > self.capacity:
                if self.drop_when_full:
                    if not self._dropping:
                        self._dropping = True
                        log.warning("sink full, dropping entries", sink=self.name, when_full="drop")
                    self.stats.dropped_full += d.entries
                    drop = True
                else:
                    self._cond.wait_for(lambda: not self._depth or self._depth + d.entries <= self.capacity
                                        or self._abort.is_set())
                    drop = False
                if drop:
                    d.ack()
                    return
            if self._dropping and self._depth < self.capacity // 2:
                self._dropping = False
                log.info("sink caught up, no longer dropping", sink=self.name,
                         dropped_total=self.stats.dropped_full)
            if self.drop_when_full:
                d.ack()  # best-effort: never holds a checkpoint back
                d.ack = noop
            self._inbox.append(d)
            self._depth += d.entries
            self._cond.notify_all()

    def request_reopen(self) -> None:
        with self._cond:
            self._reopen = True
            self._cond.notify_all()

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Write what is waiting, then close the sink."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Stop retrying and waiting now (shutdown deadline passed)."""
        self._abort.set()
        self.close()

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def depth(self) -> int:
        return self._depth

    # -- the sink thread ---------------------------------------------------------------
    def _take(self) -> list[Delivery] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._inbox or self._closed or self._reopen)
            if self.linger and self._inbox and not self._closed:
                self._cond.wait_for(lambda: self._depth >= self.linger_entries or self._closed
                                    or self._reopen or self._abort.is_set(), self.linger)
            if self._reopen:
                self._reopen = False
                self._do_reopen()
            if not self._inbox:
                return None if self._closed else []
            # at most one batch per stream in one write: a crash between the write and the
            # checkpoint commit that follows it re-sends at most one batch per file
            out: list[Delivery] = []
            streams: set[str] = set()
            n = 0
            inbox = self._inbox
            while inbox and n < MAX_WRITE_ENTRIES and inbox[0].stream not in streams:
                d = inbox.popleft()
                streams.add(d.stream)
                out.append(d)
                n += d.entries
            return out

    def _run(self) -> None:
        try:
            while not self._abort.is_set():
                batch = self._take()
                if batch is None:
                    break
                if batch:
                    self._write(batch)
        finally:
            try:
                self.sink.close()
            except OSError as exc:
                log.error("closing sink failed", sink=self.name, error=str(exc))

    def _write(self, batch: list[Delivery]) -> None:
        backoff = Backoff()
        self.busy_since = time.monotonic()
        try:
            self._attempt(batch, backoff)
        finally:
            self.busy_since = 0.0

    def _attempt(self, batch: list[Delivery], backoff: Backoff) -> None:
        refused = 0
        inner = self._inner_dead_letters()
        while True:
            self.attempt_at = time.monotonic()
            try:
                try:
                    self.sink.write(batch)
                finally:
                    self.write_durations.observe(time.monotonic() - self.attempt_at)
                break
            except FatalSinkError as exc:
                self.stats.errors += 1
                try:
                    refused = self.dead_letters.write(self.name, str(exc), batch, exc.status, exc.response)
                    break
                except OSError as dl_exc:  # nowhere to put them: they wait, unacknowledged
                    delay = self._failed(backoff)
                    log.error("cannot write the dead-letter file; the refused entries wait and are "
                              "sent again", sink=self.name, path=str(self.dead_letters.path),
                              error=dl_exc.strerror or str(dl_exc), retry_in=round(delay, 3))
                    if self._abort.wait(delay):
                        return
            except (RetriableSinkError, OSError) as exc:
                delay = self._failed(backoff)
                log.warning("sink write failed, will retry", sink=self.name, error=str(exc),
                            retry_in=round(delay, 3))
                if self._abort.wait(delay):
                    return  # deadline passed: these stay unacknowledged (re-read after restart)
            except Exception as exc:
                delay = self._failed(backoff)
                log.error("sink write failed unexpectedly, will retry", sink=self.name,
                          error=f"{type(exc).__name__}: {exc}", retry_in=round(delay, 3), exc_info=True)
                if self._abort.wait(delay):
                    return
        refused += self._inner_dead_letters() - inner
        n = 0
        for d in batch:
            n += d.entries
            d.ack()
        delivered = max(0, n - refused)
        with self._cond:
            self._depth -= n
            stats = self.stats
            stats.entries_written += delivered
            stats.dead_lettered += refused
            stats.payloads_written += len(batch)
            if delivered:
                stats.refused_in_a_row = 0
            elif refused:
                stats.refused_in_a_row += 1
                stats.last_refusal = self.dead_letters.last_refusal(self.name)
            self.last_progress = time.monotonic()
            self._cond.notify_all()
        if self.after_write is not None:
            self.after_write()

    def _failed(self, backoff: Backoff) -> float:
        """Count a failed attempt; the delay before the next (a planned wait is not being stuck)."""
        self.stats.errors += 1
        self.stats.retries += 1
        delay = backoff.next()
        self.attempt_at = time.monotonic() + delay
        return delay

    def _inner_dead_letters(self) -> int:
        """Entries the sink dead-lettered itself (some requests or items of a write)."""
        return int(getattr(self.sink, "dead_lettered", 0))

    def _do_reopen(self) -> None:
        try:
            self.sink.reopen()
            log.info("sink reopened", sink=self.name)
        except OSError as exc:
            log.error("reopening sink failed", sink=self.name, error=str(exc))
