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
        lines = payload.split(b"\n")
        lines.pop()  # after the last newline
        for line in lines:
            if cur.chunks and (cur.entries >= max_entries or cur.size + len(line) + 1 > max_bytes):
                out.append(cur)
                cur = Request()
            if not cur.chunks:
                cur.source = d.source
            cur.add(line + b"\n", 1)
    if cur.chunks:
        out.append(cur)
    return [r for r in out if r.chunks]
