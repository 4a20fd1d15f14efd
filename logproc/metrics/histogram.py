"""A duration histogram cheap enough for a sink thread: fixed buckets, plain ints.

Contract:
- `observe(seconds)` is called by **one thread only** (the owning sink runner's); it does
  a `bisect` and two plain increments, no lock, no allocation.
- Readers (the metrics collector, at scrape time, from another thread) call `snapshot()`:
  it copies the counts in one step, so the buckets and the count it reports agree with
  each other; the sum may be one observation ahead or behind them (no lock, by design:
  a scrape is a sample, not a transaction).
- Buckets are fixed upper bounds in seconds (`BOUNDS`), the last bucket being +Inf.
  Counts are kept per bucket (not cumulative); `snapshot()` returns them cumulative, the
  way Prometheus exposes a histogram.
"""

from __future__ import annotations

from bisect import bisect_left

# upper bounds (seconds, "le"): from a local file write (sub-millisecond) to a slow HTTP
# endpoint or a sink stuck in a blocked pipe (tens of seconds)
BOUNDS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                             1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class DurationHistogram:
    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BOUNDS) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le = <=)
        self.counts[bisect_left(BOUNDS, seconds)] += 1
        self.sum += seconds

    def snapshot(self) -> tuple[list[tuple[float, int]], float]:
        """([(upper bound, cumulative count), ..., (inf, total)], sum of observations)."""
        counts = self.counts.copy()
        total = self.sum
        out: list[tuple[float, int]] = []
        acc = 0
        for bound, n in zip((*BOUNDS, float("inf")), counts, strict=True):
            acc += n
            out.append((bound, acc))
        return out, total
