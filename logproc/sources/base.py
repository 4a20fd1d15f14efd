"""What every source kind is made of, and what the pipeline reads from a running source.

A source kind is one package under `logproc/sources/` declaring a `SourceKind`
(`logproc.sources.kind`), named once in `logproc.sources.registry`.

- `SourceBase`: the config keys every source has (`type`, `priority` and the entry
  transforms `fields`, `drop_fields`, `rename`, `redact`); a kind's model subclasses it.
- `Source`: a running source. It owns one thread that puts `logproc.batch.Batch`es on the
  queue (blocking while the queue is full: backpressure), each from one *stream* (a file,
  the journal, a peer) with the position an acknowledgement advances (opaque to the
  pipeline: see `logproc.checkpoints`). The pipeline starts it, waits for `ready`, and at
  shutdown or reload calls `stop()` then waits on `join()`; nothing it read and did not
  queue counts as delivered. A source that ends by itself (`--once`, a finished backfill)
  simply returns from its thread.
- `SourceStats`: one typed object of counters, written by the source's thread only; a
  reload hands it on, so counters go on across a change of config.
- `SourceStatus`: gauges read by metrics, `STATUS=` and the status page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logproc.config.fields import Redaction


class SourceBase(BaseModel):
    """Keys every source has; a source kind subclasses it and sets `type` plus its own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    priority: int = Field(
        default=0, ge=-1_000_000, le=1_000_000, description="Higher goes first when the consumers are "
        "behind (order within one stream is always kept).")
    fields: dict[str, str | int | float | bool] = Field(
        default={}, description="Static fields added to every entry.")
    drop_fields: list[str] = Field(default=[], description="Fields removed from every entry.")
    rename: dict[str, str] = Field(default={}, description="Fields renamed: old name → new name.")
    redact: list[Redaction] = Field(
        default=[], description='Built-in names ("email", "credit_card", "bearer_token", "ipv4") or '
        'regexes; matches in every string field become "[REDACTED]".')


@dataclass
class SourceStats:
    """Counters of one source (written by its thread only)."""

    lines: int = 0  # entries read (a line, a journal entry, a message)
    bytes: int = 0  # bytes read
    empty: int = 0  # empty lines left out
    pieces: int = 0  # pieces of lines cut at max_line_bytes
    lost: dict[str, int] = field(default_factory=dict)  # reason -> bytes that could not be read
    lost_entries: dict[str, int] = field(default_factory=dict)  # reason -> entries known lost
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> entries dropped by policy
    broken_archives: int = 0  # compressed files cut short or undecodable


@dataclass(frozen=True)
class SourceStatus:
    """Gauges of a running source: what it follows, what it holds, how far behind it is."""

    watched: int = 0  # files, journals or connections followed now
    open_files: int = 0  # descriptors held
    pinned_bytes: int = 0  # bytes of deleted files kept alive by open descriptors
    lag: int = 0  # bytes (files) not yet acknowledged
    unit: Literal["files", "journals", "clients"] = "files"


class Source:
    """A running source (see the module doc). Subclasses set `thread` and run `_run` in it."""

    kind: str = ""

    def __init__(self, name: str, cfg: Any, stats: SourceStats | None = None) -> None:
        self.name = name
        self.cfg = cfg
        self.stats = stats or SourceStats()
        self.ready = threading.Event()  # set once the source reads (first discovery done, bound)
        self.wake = threading.Event()  # a hint that something changed (file events)
        self.read_errors = 0  # inputs that could not be read (`--once` exits 1)
        self.to_read = 0  # bytes known unread at start-up (progress of `--once`)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"source-{name}", daemon=False)

    def _run(self) -> None:
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop reading soon; what was read but not queued stays unacknowledged."""
        self._stop.set()
        self.wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def unstop(self) -> bool:
        """Take a `stop()` back if the thread has not ended (an abandoned reload): True when
        it reads on, False when it ended (the pipeline then starts a replacement)."""
        return False

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def handover(self) -> Any:
        """What a replacement of the same kind takes over once this one's thread ended (a
        reload that changed the source's config): open descriptors, positions. None: nothing."""
        return None

    def close(self) -> None:
        """Release what no replacement took over (the source was removed)."""

    def use_ids(self, on: bool) -> None:
        """Whether a routed sink uses the entries' stable ids now (a reload changed the
        sinks); a source whose batches need extra work for them (files: offsets) starts or
        stops it soon (within a stat pass)."""

    # -- what the pipeline reads -------------------------------------------------------
    def folders(self) -> dict[str, bool]:
        """Folders whose filesystem events should wake this source (folder -> recursive)."""
        return {}

    def status(self) -> SourceStatus:
        return SourceStatus()
