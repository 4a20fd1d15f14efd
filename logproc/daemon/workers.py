"""Consumers: threads that take batches, run the pipeline and hand payloads to sinks.

For each batch: parse once (when any routed sink needs fields), then per route filter and
format into one payload, register a ticket with the ack tracker counting the sinks that
got something, submit, and only then release the batch's file in the queue (so the file's
next batch reaches every sink after this one). Consumers end when the queue is closed and
drained — closing is the shutdown protocol.
"""

from __future__ import annotations

import os
import threading
import time

from logproc.batch import Batch
from logproc.daemon.topology import Topology
from logproc.log import get_logger
from logproc.sinks.base import Delivery, noop

log = get_logger("consumer")
# Counters several consumers add to (once per batch, not per line): one lock keeps the
# metrics exact. Sink runners' own counters are written by their thread only.
_counts = threading.Lock()
# Test seam (documented in logproc.testing): the first consumer's thread ends with an error
# after its first batch, as a bug would end it; /health and the watchdog must notice.
_FAULT_CONSUMER_EXIT = os.environ.get("LOGPROC_FAULT") == "consumer-exit"


class Consumer:
    def __init__(self, topo: Topology, index: int) -> None:
        self.topo = topo
        self.batches = 0
        self.last_progress = time.monotonic()
        self.busy_since = 0.0  # monotonic time the batch in hand was taken (0: idle)
        self.waiting_on: object | None = None  # the sink runner a submit is waiting for
        self.thread = threading.Thread(target=self._run, name=f"consumer-{index}", daemon=False)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        queue = self.topo.queue
        gate = self.topo.gate
        while True:
            if not gate.enter(0.5):  # closed by a reload that is swapping sinks and routes
                self.last_progress = time.monotonic()
                continue
            try:
                batch = queue.get(timeout=0.5)
                if batch is None:
                    if queue.closed:
                        return
                    self.last_progress = time.monotonic()
                    continue
                self.busy_since = time.monotonic()
                try:
                    self.process(batch)
                except Exception:
                    log.exception("consumer failed on a batch", source=batch.source, path=batch.path,
                                  start=batch.start, end=batch.end)
                    raise
                finally:
                    self.busy_since = 0.0
                    queue.release(batch)
                self.batches += 1
                self.last_progress = time.monotonic()
                if _FAULT_CONSUMER_EXIT and self.thread.name == "consumer-0":
                    raise RuntimeError("LOGPROC_FAULT=consumer-exit: the consumer thread ends")
            finally:
                gate.exit()

    def process(self, batch: Batch) -> None:
        sr = self.topo.routes[batch.source]
        lines = batch.lines
        entries = None
        if sr.pipeline is not None and lines:
            entries, errors = sr.pipeline(lines, batch.parts, batch.path, batch.read_time)
            if errors:
                with _counts:
                    sr.parse_errors += errors
        deliveries: list[tuple[object, Delivery]] = []
        source = batch.source
        for route in sr.routes:
            if not lines:
                break
            sel_entries, sel_raws = entries, lines
            if route.filter is not None:
                kept, n_level, n_filter = route.filter(entries)
                stats = route.runner.stats
                if n_level or n_filter:
                    with _counts:
                        stats.dropped_min_level += n_level
                        stats.dropped_filter += n_filter
                if len(kept) != len(lines):
                    if not kept:
                        continue
                    sel_raws = [lines[i] for i in kept]  # aligned with the entries kept
                    sel_entries = [entries[i] for i in kept] if entries is not None else None
            n = len(sel_raws) if route.raw_only else len(sel_entries or ())
            payload = route.formatter(None if route.raw_only else sel_entries, sel_raws)
            deliveries.append((route.runner, Delivery(source, payload, n, noop, batch.key)))
        ticket = self.topo.tracker.open(batch, len(deliveries))
        for runner, d in deliveries:
            d.ack = ticket.ack
            self.waiting_on = runner
            runner.submit(d)  # type: ignore[attr-defined]
        self.waiting_on = None
