"""Consumers: threads that take batches, run the pipeline and hand payloads to sinks.

For each lease (see `queue`): parse once (when any routed sink needs fields), then per
route filter and format into one payload (the source's batch function, see `stages`; in
worker processes when `[daemon] workers` > 0, see `offload`); then, in the stream's turn,
register a ticket with the ack tracker counting the sinks that got something, submit,
and mark the lease done (so the stream's next batch reaches every sink after this one).
Consumers end when the queue is closed and drained — closing is the shutdown protocol.
"""

from __future__ import annotations

import os
import threading
import time

from logproc.log import get_logger
from logproc.pipeline.build import Topology
from logproc.pipeline.offload.pool import PoolClosed, WorkerFailed
from logproc.pipeline.queue import Lease
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
        # what the batch in hand waits for: a sink runner's inbox, or its lease's turn
        self.waiting_on: object | None = None
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
                lease = queue.get(timeout=0.5)
                if lease is None:
                    if queue.closed:
                        return
                    self.last_progress = time.monotonic()
                    continue
                self.busy_since = time.monotonic()
                batch = lease.batch
                try:
                    self.process(lease)
                except PoolClosed:
                    # shutdown past its deadline killed the workers: the batch stays
                    # unacknowledged (read again after a restart); this thread is done
                    log.info("batch left unacknowledged: worker processes stopped", source=batch.source,
                             path=batch.path, start=batch.start, end=batch.end)
                    return
                except Exception:
                    log.exception("consumer failed on a batch", source=batch.source, path=batch.path,
                                  start=batch.start, end=batch.end)
                    raise
                finally:
                    self.busy_since = 0.0
                self.batches += 1
                self.last_progress = time.monotonic()
                if _FAULT_CONSUMER_EXIT and self.thread.name == "consumer-0":
                    raise RuntimeError("LOGPROC_FAULT=consumer-exit: the consumer thread ends")
            finally:
                gate.exit()

    def process(self, lease: Lease) -> None:
        batch = lease.batch
        sr = self.topo.routes[batch.source]
        lines = batch.lines
        pool = self.topo.pool
        if pool is not None and sr.pipeline is not None and lines:
            try:
                errors, results = pool.run(batch.source, lines, batch.parts, batch.path, batch.read_time,
                                           batch.offsets, batch.ident)
            except PoolClosed:
                raise
            except WorkerFailed:
                log.error("worker processes keep dying on a batch; processing it in the consumer",
                          source=batch.source, path=batch.path, start=batch.start, end=batch.end)
                errors, results = sr.run(lines, batch.parts, batch.path, batch.read_time, batch.offsets,
                                         batch.ident)
        else:
            errors, results = sr.run(lines, batch.parts, batch.path, batch.read_time, batch.offsets,
                                     batch.ident)
        if errors:
            with _counts:
                sr.parse_errors += errors
        deliveries: list[tuple[object, Delivery]] = []
        source = batch.source
        self.waiting_on = lease
        lease.wait_turn()
        self.waiting_on = None
        for route, (n, n_level, n_filter, payload) in zip(sr.routes, results, strict=False):
            if route.filter is not None:
                stats = route.runner.stats
                if n_level or n_filter:
                    with _counts:
                        stats.dropped_min_level += n_level
                        stats.dropped_filter += n_filter
            if n:
                deliveries.append((route.runner, Delivery(source, payload, n, noop, batch.stream)))
        ticket = self.topo.tracker.open(batch, len(deliveries))
        for runner, d in deliveries:
            d.ack = ticket.ack
            self.waiting_on = runner
            runner.submit(d)  # type: ignore[attr-defined]
        self.waiting_on = None
        lease.done()
