"""What crosses the queue: a batch of entries read from one stream, with its position.

A batch is the unit of hand-off, ordering and acknowledgement. It comes from one
*stream* (`stream`: a file read in order, the journal, one syslog connection); the queue
and the sinks keep each stream's batches in order. Once every sink it was routed to has
acknowledged it, its checkpoint `record` advances to `end` — a position the pipeline
does not look into (a file offset with the hash of the bytes before it, a journal
cursor; no record at all for a receiver). Lines carry no `\\n` and no trailing `\\r`;
a file's empty lines were already counted and left out, so `len(lines)` can be smaller
than the number of newlines in the range.

Identity: a file's batch carries its record's `ident` and, when a routed sink uses the
entries' stable ids, each line's offset (`offsets`); an entry's id is made of the two
(`logproc.pipeline.ids`). A journal batch needs neither (its lines hold their cursors); a
receiver's has no identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logproc.checkpoints import Checkpoint


@dataclass(slots=True, eq=False)
class Batch:
    """Lines of `stream`, read from `path` (the entries' `file`) at `read_time`."""

    source: str
    stream: str  # batches of one stream are handed on and acknowledged in order
    path: str
    lines: list[bytes]
    start: Any  # where the batch begins (a file offset; for logs and reports)
    end: Any  # the position `record` advances to once the batch is acknowledged
    read_time: float
    priority: int = 0
    # None, or aligned with lines: 0 for a whole line, k >= 1 for the k-th piece of a long one
    parts: list[int] | None = None
    record: Checkpoint | None = None  # the checkpoint that `end` advances once acknowledged
    tail: str = ""  # hash of the bytes just before `end` (files: detects rewrites while stopped)
    # set by the consumer: parsed entries, kept here only while the batch is in flight
    entries: list[dict[str, Any]] | None = field(default=None, repr=False)
    # None, or aligned with lines: the file offset of each line's first byte (see `ident`)
    offsets: list[int] | None = field(default=None, repr=False)
    ident: str = ""  # the file's stable name (its checkpoint record's), for entry ids

    def __len__(self) -> int:
        return len(self.lines)
