"""Progress of a `run --once` on a terminal: bytes read of the total, rate and ETA.

Written to stderr with a carriage return, at most a few times a second; only when stderr
is a TTY (the CLI decides), so logs and pipes never see it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from logproc.pipeline.build import Topology


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    def __init__(self, topo: Topology, stream: TextIO) -> None:
        self.topo = topo
        self.stream = stream
        self.t0 = time.monotonic()
        self.last = 0.0
        # counted by each source before it read anything (a small file may be read and
        # released before this object exists)
        self.total = sum(s.to_read for s in topo.sources.values())

    def line(self) -> str:
        done = sum(s.stats.bytes for s in self.topo.sources.values())
        self.total = max(self.total, done)  # files found later add to it
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        rate = done / elapsed
        left = max(self.total - done, 0)
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        pct = 100.0 * done / self.total if self.total else 100.0
        return f"{_size(done)} of {_size(self.total)} ({pct:.0f}%)  {_size(rate)}/s  ETA {eta}"

    def update(self) -> None:
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r\x1b[K" + self.line() + "\n")
        self.stream.flush()
