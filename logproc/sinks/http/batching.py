"""Cutting what the runner hands `write` into requests within `batch_max_entries` and
`batch_max_bytes`.

A delivery's payload is units, one line per entry (see `encoders`). Payloads are packed
whole while they fit; one that does not fit the current request but fits an empty one
starts the next request (no copy); only a payload larger than a whole request is cut into
its lines. The byte bound counts unit bytes, which is the body's size to within the
encoding's framing (brackets, commas; Loki shares label sets, so its body is smaller), and
is taken before gzip. One unit larger than `batch_max_bytes` goes alone, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

from logproc.sinks.base import Delivery, noop


@dataclass(slots=True)
class Request:
    chunks: list[bytes] = field(default_factory=list)  # whole units, in order
    entries: int = 0
    size: int = 0
    source: str = ""

    def add(self, chunk: bytes, entries: int) -> None:
        self.chunks.append(chunk)
        self.entries += entries
        self.size += len(chunk)

    def as_delivery(self) -> Delivery:
        """These units as one delivery (for the dead-letter file; acknowledged by the caller)."""
        return Delivery(self.source, b"".join(self.chunks), self.entries, noop)


def plan(deliveries: list[Delivery], max_entries: int, max_bytes: int) -> list[Request]:
    out: list[Request] = []
    cur = Request()
    for d in deliveries:
        payload = d.payload
        if not payload:
            continue
        n = payload.count(b"\n")
        if cur.entries + n <= max_entries and cur.size + len(payload) <= max_bytes:
            if not cur.chunks:
                cur.source = d.source
            cur.add(payload, n)
            continue
        if n <= max_entries and len(payload) <= max_bytes:
            out.append(cur)
            cur = Request(source=d.source)
            cur.add(payload, n)
            continue
        # cut into runs of whole lines, each run one slice of the payload: the most lines
        # that fit the current request (at least one when it is empty). The same cuts as
        # adding line by line, without a Python step per line: line k ends at offset
        # sizes[k] + k + 1 (`sizes`: the lines' lengths summed, newlines left out)
        lines = payload.split(b"\n")
        lines.pop()  # after the last newline
        sizes = list(accumulate(map(len, lines)))
        i = start = 0  # the next line, and its offset
        while i < n:
            if not cur.chunks:
                cur.source = d.source
            limit = start + max_bytes - cur.size  # the offset the request may take lines up to
            j = min(n, i + max_entries - cur.entries)
            if j > i and sizes[j - 1] + j > limit:  # the bytes bound comes first: the first
                lo, hi = i, j - 1  # line past `limit` (line j - 1 is)
                while lo < hi:
                    mid = (lo + hi) // 2
                    if sizes[mid] + mid + 1 > limit:
                        hi = mid
                    else:
                        lo = mid + 1
                j = lo
            if j == i:  # not even one more line fits
                if cur.chunks:
                    out.append(cur)
                    cur = Request()
                    continue
                j = i + 1  # a line larger than a whole request goes alone
            end = sizes[j - 1] + j
            cur.add(payload[start:end], j - i)
            i, start = j, end
    if cur.chunks:
        out.append(cur)
    return [r for r in out if r.chunks]
