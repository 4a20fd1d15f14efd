"""Prometheus metrics and `/health` for the running daemon (`daemon.metrics_address`).

Lifecycle (driven by the supervisor, never in `--once` mode, not at all when the address
is ""):
1. `bind(owner, address)` before the pipeline starts: the port is bound and a private
   `CollectorRegistry` is filled (the pipeline collector, our `process` collector and
   prometheus-client's platform collector). **A bind failure (port taken, address not
   local) is logged and the daemon exits 1 at start-up**, before reading a line: the
   operator asked for metrics, and a daemon silently running without them would go
   unnoticed until the dashboards or the health checks fail.
2. `server.serve(owner)` once every source is watching; `server.stop()` after the drain.

The address is read at start-up only: a reload that changes `metrics_address` takes
effect at the next restart.

Series (all read at scrape time from the pipeline's own stats; see `collector`):

- `logproc_build_info` (gauge, 1; `version`, `python`), `logproc_start_time_seconds`,
  `logproc_uptime_seconds`;
- per `source`, counters: `logproc_source_lines_read_total`,
  `logproc_source_bytes_read_total`, `logproc_source_bytes_acknowledged_total`,
  `logproc_source_parse_errors_total`, and `logproc_source_bytes_lost_total` (also by
  `reason`: `truncated`, `gone`);
- per `source`, gauges: `logproc_source_files_watched`, `logproc_source_open_files`,
  `logproc_source_pinned_bytes`, `logproc_source_checkpoint_lag_bytes`;
- per `sink`, counters: `logproc_sink_entries_written_total`,
  `logproc_sink_payloads_written_total`, `logproc_sink_errors_total`,
  `logproc_sink_retries_total`; gauges: `logproc_sink_inbox_depth`,
  `logproc_sink_inbox_capacity`, `logproc_sink_refusing` (1 while every recent write was
  refused and dead-lettered); histogram: `logproc_sink_request_duration_seconds`;
- `logproc_entries_dropped_total` (counter) by `reason`: `empty` with `source`;
  `min_level`, `filter`, `sink_full`, `dead_letter` with `sink`;
- `logproc_queue_depth`, `logproc_queue_capacity` (gauges, entries);
- `logproc_watch_events_lost_total` (counter): inotify queue overflows;
- the standard `process_*` (from `process`: prometheus-client's needs `/proc/stat`, hidden
  by the unit's `ProcSubset=pid`) and prometheus-client's `python_info`.

Parse errors are not drops (the line is delivered with `parse_error`), hence their own
counter. The checkpoint lag is per source, not per file: per-file series would grow with
every rotated file (cardinality).

This module imports nothing heavy: prometheus-client is imported by `bind()` only, so
`import logproc` (and `--once` runs, `check`) do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logproc.log import get_logger

if TYPE_CHECKING:
    from logproc.metrics.server import MetricsServer

log = get_logger("metrics")


def bind(owner: Any, address: str) -> MetricsServer | None:
    """Bind the metrics server for `owner` (a Supervisor: `topo`, `phase`, `problems()`).

    None when `address` is "" (disabled). Raises OSError (after logging it) when the
    address cannot be bound.
    """
    if not address:
        return None
    from prometheus_client import CollectorRegistry
    from prometheus_client.platform_collector import PlatformCollector

    from logproc.metrics.collector import PipelineCollector
    from logproc.metrics.process import ProcessCollector
    from logproc.metrics.server import MetricsServer

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(owner))
    registry.register(ProcessCollector())
    PlatformCollector(registry=registry)
    try:
        return MetricsServer(address, registry)
    except OSError as exc:
        log.error("cannot serve metrics on metrics_address; set daemon.metrics_address to a free "
                  'address, or "" to disable metrics', address=address, error=exc.strerror or str(exc))
        raise
