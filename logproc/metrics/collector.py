"""The Prometheus collector: the pipeline's own counters, read at scrape time.

Nothing is counted for metrics' sake on the per-line path: the sources, consumers and
sink runners keep their plain-int stats as they always did (`SourceStats`, `SinkStats`,
`SourceRoutes.parse_errors`, the sink's `DurationHistogram`) and `collect()` reads them
when Prometheus asks. The reads take no lock: each value is one attribute read of an int
written by its own thread, so a scrape is a consistent-enough sample, never a stall of
the pipeline. Collections that a source's thread may change while we iterate (its tailers) are
read through the source's own properties, retried when the dict changes size under us.

The pipeline is looked up through `owner.topo` on every scrape (not captured once), so a
reload that swaps the topology is followed. Counters restart from zero when a source or
sink is recreated by a reload, which Prometheus' `rate()` treats as a counter reset.

Cardinality: labels are config names (`source`, `sink`) and small fixed sets (`reason`).
File paths are never label values: the checkpoint lag is summed per source (per-file
series would grow with every rotated file and never go away).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from logproc import __version__

T = TypeVar("T")
LOST_REASONS = ("truncated", "gone", "corrupt")


def _retry(read: Callable[[], T], default: T) -> T:
    """`read()`, again when a source's thread changed the dict it iterates (RuntimeError)."""
    for _ in range(5):
        try:
            return read()
        except RuntimeError:
            continue
    return default


def _file_gauges(src: Any) -> tuple[int, int, int, int]:
    """Files watched, descriptors held, pinned bytes, checkpoint lag (sum over files)."""
    st = src.status()
    return st.watched, st.open_files, st.pinned_bytes, st.lag


def _fmt(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class PipelineCollector(Collector):
    """Yields every `logproc_*` series from `owner.topo` (a running `Supervisor`)."""

    def __init__(self, owner: Any, started_wall: float | None = None,
                 started_mono: float | None = None) -> None:
        self.owner = owner
        self.started_wall = time.time() if started_wall is None else started_wall
        self.started_mono = time.monotonic() if started_mono is None else started_mono

    def collect(self) -> Iterator[Metric]:
        topo = self.owner.topo
        yield from self._process()
        yield from self._sources(topo)
        yield from self._sinks(topo)
        yield from self._dropped(topo)
        depth = GaugeMetricFamily("logproc_queue_depth", "Entries waiting in the queue between "
                                  "sources and consumers.", value=topo.queue.depth)
        cap = GaugeMetricFamily("logproc_queue_capacity", "Bound of the queue, in entries "
                                "(daemon.queue_size).", value=topo.queue.capacity)
        yield depth
        yield cap
        yield CounterMetricFamily("logproc_watch_events_lost_total", "Times the kernel's inotify queue "
                                  "overflowed and file events were lost (every source then rescans; "
                                  "nothing is lost but latency).", value=self.owner.events_lost)

    # -- the process -------------------------------------------------------------------
    def _process(self) -> Iterator[Metric]:
        info = InfoMetricFamily("logproc_build", "Version of logproc and of the Python running it.")
        info.add_metric([], {"version": __version__,
                             "python": ".".join(map(str, sys.version_info[:3]))})
        yield info
        yield GaugeMetricFamily("logproc_start_time_seconds", "Unix time the daemon started.",
                                value=self.started_wall)
        yield GaugeMetricFamily("logproc_uptime_seconds", "Seconds since the daemon started.",
                                value=time.monotonic() - self.started_mono)

    # -- sources -----------------------------------------------------------------------
    def _sources(self, topo: Any) -> Iterator[Metric]:
        L = ["source"]
        lines = CounterMetricFamily("logproc_source_lines_read_total", "Entries read from files "
                                    "(a long line cut in pieces counts each piece, a multiline "
                                    "entry once; empty lines are not counted here).", labels=L)
        nbytes = CounterMetricFamily("logproc_source_bytes_read_total", "Bytes read from files.",
                                     labels=L)
        acked = CounterMetricFamily("logproc_source_bytes_acknowledged_total", "Bytes whose lines "
                                    "every routed sink acknowledged (checkpoints may advance past them).",
                                    labels=L)
        lost = CounterMetricFamily("logproc_source_bytes_lost_total", "Bytes that could not be read: "
                                   "written before a copytruncate we missed (truncated) or in a file "
                                   "gone for good (gone), the undecodable rest of an archive (corrupt).",
                                   labels=["source", "reason"])
        lost_entries = CounterMetricFamily("logproc_source_entries_lost_total", "Entries known lost "
                                           "before they could be read: vacuumed (a journal's entries "
                                           "deleted before they were read; 1 when their number is unknown).",
                                           labels=["source", "reason"])
        perr = CounterMetricFamily("logproc_source_parse_errors_total", "Lines the parser could not "
                                   "parse (delivered anyway, with parse_error; not a drop).", labels=L)
        broken = CounterMetricFamily("logproc_source_archives_broken_total", "Compressed files cut short "
                                     "or undecodable: what decoded was delivered, the rest is lost.",
                                     labels=L)
        watched = GaugeMetricFamily("logproc_source_files_watched", "Files being followed.", labels=L)
        open_fds = GaugeMetricFamily("logproc_source_open_files", "File descriptors held by the "
                                     "source's tailers.", labels=L)
        pinned = GaugeMetricFamily("logproc_source_pinned_bytes", "Bytes of deleted files kept alive "
                                   "by open descriptors until they are read to their end.", labels=L)
        lag = GaugeMetricFamily("logproc_source_checkpoint_lag_bytes", "Bytes on disk not yet "
                                "acknowledged, summed over the source's files.", labels=L)
        acked_by = dict(topo.store.acked)
        for name, src in list(topo.sources.items()):
            st = src.stats
            v = [name]
            lines.add_metric(v, st.lines)
            nbytes.add_metric(v, st.bytes)
            acked.add_metric(v, acked_by.get(name, 0))
            for reason in LOST_REASONS:
                lost.add_metric([name, reason], st.lost.get(reason, 0))
            for reason, n in list(st.lost_entries.items()):
                lost_entries.add_metric([name, reason], n)
            routes = topo.routes.get(name)
            perr.add_metric(v, routes.parse_errors if routes is not None else 0)
            broken.add_metric(v, st.broken_archives)
            files, fds, pinned_n, lag_n = _retry(partial(_file_gauges, src), (0, 0, 0, 0))
            watched.add_metric(v, files)
            open_fds.add_metric(v, fds)
            pinned.add_metric(v, pinned_n)
            lag.add_metric(v, lag_n)
        yield from (lines, nbytes, acked, lost, lost_entries, perr, broken, watched, open_fds, pinned, lag)

    # -- sinks -------------------------------------------------------------------------
    def _sinks(self, topo: Any) -> Iterator[Metric]:
        L = ["sink"]
        written = CounterMetricFamily("logproc_sink_entries_written_total", "Entries the sink wrote "
                                      "and acknowledged (dead-lettered entries are not counted here: "
                                      "see logproc_entries_dropped_total{reason=\"dead_letter\"}).",
                                      labels=L)
        refusing = GaugeMetricFamily("logproc_sink_refusing", "1 while the sink's destination refuses "
                                     "everything: its last writes delivered nothing and went to the "
                                     "dead-letter file (a wrong token, say); 0 otherwise.", labels=L)
        payloads = CounterMetricFamily("logproc_sink_payloads_written_total", "Payloads (one per "
                                       "batch and sink) written.", labels=L)
        errors = CounterMetricFamily("logproc_sink_errors_total", "Failed write attempts (retried, "
                                     "or dead-lettered when fatal).", labels=L)
        retries = CounterMetricFamily("logproc_sink_retries_total", "Write attempts that were "
                                      "retried after a failure.", labels=L)
        duplicates = CounterMetricFamily("logproc_sink_duplicates_total", "Entries the destination "
                                         "already had, recognised by their stable id (sent again "
                                         "after a crash): counted as delivered.", labels=L)
        inbox = GaugeMetricFamily("logproc_sink_inbox_depth", "Entries waiting for the sink.",
                                  labels=L)
        inbox_cap = GaugeMetricFamily("logproc_sink_inbox_capacity", "Bound of the sink's inbox, "
                                      "in entries.", labels=L)
        duration = HistogramMetricFamily("logproc_sink_request_duration_seconds", "Duration of each "
                                         "write call to the sink (one attempt; an HTTP sink's "
                                         "requests and internal retries inside it included).",
                                         labels=L)
        for name, r in list(topo.runners.items()):
            rs = r.stats
            v = [name]
            written.add_metric(v, rs.entries_written)
            refusing.add_metric(v, 1 if rs.refusing else 0)
            payloads.add_metric(v, rs.payloads_written)
            # a sink that retries inside one write (http) counts its own retries
            inner = getattr(r.sink, "retries", 0)
            errors.add_metric(v, rs.errors + inner)
            retries.add_metric(v, rs.retries + inner)
            duplicates.add_metric(v, getattr(r.sink, "duplicates", 0))
            inbox.add_metric(v, r.depth)
            inbox_cap.add_metric(v, r.capacity)
            buckets, total = r.write_durations.snapshot()
            duration.add_metric(v, [(_fmt(b), n) for b, n in buckets], total)
        yield from (written, refusing, payloads, errors, retries, duplicates, inbox, inbox_cap, duration)

    # -- drops -------------------------------------------------------------------------
    def _dropped(self, topo: Any) -> Iterator[Metric]:
        """One family, `reason` always; `source` for empty lines (dropped before routing),
        `sink` for what one sink did not get. An absent label is the same as an empty one
        to Prometheus, so `sum by (reason)` works across both."""
        fam = CounterMetricFamily("logproc_entries_dropped_total", "Entries that reached no sink on "
                                  "purpose or by policy: empty lines and receiver_full (per "
                                  "source), min_level, filter, sink_full and dead_letter (per sink).")
        name = "logproc_entries_dropped_total"
        for src_name, src in list(topo.sources.items()):
            fam.add_sample(name, {"reason": "empty", "source": src_name}, src.stats.empty)
            for reason, value in list(src.stats.dropped.items()):  # receivers: receiver_full
                fam.add_sample(name, {"reason": reason, "source": src_name}, value)
        for sink_name, r in list(topo.runners.items()):
            rs = r.stats
            for reason, value in (("min_level", rs.dropped_min_level), ("filter", rs.dropped_filter),
                                  ("sink_full", rs.dropped_full),
                                  ("dead_letter", rs.dead_lettered)):
                fam.add_sample(name, {"reason": reason, "sink": sink_name}, value)
        yield fam
