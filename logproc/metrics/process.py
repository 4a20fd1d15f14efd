"""The standard `process_*` series, from what a daemon under `ProcSubset=pid` can read.

prometheus-client's `ProcessCollector` reads the boot time from `/proc/stat` when it is
created and, when it cannot, yields nothing at all, silently. The shipped unit mounts
/proc with `ProcSubset=pid` (the process folders only: no `/proc/stat`, no
`/proc/uptime`), so under systemd every `process_*` series would be gone. This collector
exports the same names, types and help texts, each from a source that stays:

- `process_cpu_seconds_total`: `os.times()`, user + system, every thread (not the
  worker processes: as with prometheus-client, children are not counted);
- `process_virtual_memory_bytes`, `process_resident_memory_bytes`: `/proc/self/stat`;
- `process_start_time_seconds`: the start time in `/proc/self/stat` (clock ticks since
  boot) set against `CLOCK_BOOTTIME` now, turned into Unix time once and kept, so the
  series never wobbles (`changes()` on it counts restarts);
- `process_open_fds`: the entries of `/proc/self/fd` (the one the listing opens counted,
  as prometheus-client does);
- `process_max_fds`: the soft `RLIMIT_NOFILE` (+Inf when unlimited).

A series whose source cannot be read (no /proc mounted) is left out of that scrape; the
others are still exported. Nothing is logged: a scrape is no place for a warning that
repeats every 15 s.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_PAGESIZE = resource.getpagesize()
_TICKS = os.sysconf("SC_CLK_TCK")

# fields of /proc/<pid>/stat counted after the ")" closing the command name (which may
# itself hold spaces and parentheses): field 3 (state) is index 0, proc(5)'s numbering - 3
_STARTTIME, _VSIZE, _RSS = 19, 20, 21


class ProcessCollector(Collector):
    """prometheus-client's `process_*` series, without `/proc/stat` (see the module doc)."""

    def __init__(self, proc: str = "/proc") -> None:
        self._self = os.path.join(proc, "self")
        self._start: float | None = None
        self._start_time(self._stat())  # now: the sooner, the less the two clocks drift apart

    def _stat(self) -> list[bytes] | None:
        try:
            with open(os.path.join(self._self, "stat"), "rb") as f:
                return f.read().rpartition(b")")[2].split()
        except OSError:
            return None

    def _start_time(self, stat: list[bytes] | None) -> float | None:
        if self._start is None and stat is not None:
            # both clocks read back to back: Unix time now, minus the seconds since the start
            now, boot = time.time(), time.clock_gettime(time.CLOCK_BOOTTIME)
            self._start = now - (boot - int(stat[_STARTTIME]) / _TICKS)
        return self._start

    def collect(self) -> Iterator[Metric]:
        t = os.times()
        yield CounterMetricFamily("process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds.",
                                  value=t.user + t.system)
        stat = self._stat()
        if stat is not None:
            yield GaugeMetricFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                    value=float(stat[_VSIZE]))
            yield GaugeMetricFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                                    value=float(int(stat[_RSS]) * _PAGESIZE))
        start = self._start_time(stat)
        if start is not None:
            yield GaugeMetricFamily("process_start_time_seconds",
                                    "Start time of the process since unix epoch in seconds.", value=start)
        try:
            fds = len(os.listdir(os.path.join(self._self, "fd")))
        except OSError:
            pass
        else:
            yield GaugeMetricFamily("process_open_fds", "Number of open file descriptors.", value=fds)
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        yield GaugeMetricFamily("process_max_fds", "Maximum number of open file descriptors.",
                                value=float("inf") if soft == resource.RLIM_INFINITY else float(soft))
