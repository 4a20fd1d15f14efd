"""What crosses the queue: a batch of complete lines read from one file.

A batch is the unit of hand-off, ordering and acknowledgement. It covers the byte range
`[start, end)` of one file; once every sink it was routed to has acknowledged it, the
file's checkpoint may advance to `end`. Lines carry no `\\n` and no trailing `\\r`; empty
lines were already counted and left out, so `len(lines)` can be smaller than the number of
newlines in the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logproc.checkpoints import FileCheckpoint


@dataclass(slots=True, eq=False)
class Batch:
    """Lines `[start, end)` of the file known by `key`, read from `path` at `read_time`."""

    source: str
    key: str  # the tailer's stream: batches of one key are handed out and acknowledged in order
    path: str
    lines: list[bytes]
    start: int
    end: int
    read_time: float
    priority: int = 0
    # None, or aligned with lines: 0 for a whole line, k >= 1 for the k-th piece of a long one
    parts: list[int] | None = None
    record: FileCheckpoint | None = None  # the checkpoint that `end` advances once acknowledged
    tail: str = ""  # hash of the bytes just before `end` (detects rewrites while stopped)
    # set by the consumer: parsed entries, kept here only while the batch is in flight
    entries: list[dict[str, Any]] | None = field(default=None, repr=False)
    seq: int = 0  # the batch's number in its stream (see daemon.turn)
    turn: Any = None  # the stream's Turn (None: no ordering needed, e.g. in unit tests)

    def __len__(self) -> int:
        return len(self.lines)
