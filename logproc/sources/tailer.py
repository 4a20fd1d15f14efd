"""One tailer per file: open, seek to its checkpoint, read chunks, notice rotation,
truncation and deletion, close.

States: READING (data may be waiting) → EOF (caught up; a stat pass or an event wakes it)
→ ROTATED (the path names another file now, or nothing: read the old one to its end and
keep it open `rotate_wait` seconds for late writers) / DELETED (unlinked while open: read
to the end, then release the descriptor) → CLOSED. TRUNCATED is a transition: the file
shrank below what was read, so reading restarts at 0 in a new *generation*; batches of the
old generation still in flight no longer move the checkpoint.

The tailer only reads ahead; it never moves the delivered offset itself except to reset it
on truncation. Reads use `pread` at an explicit position, so the descriptor's own offset
never matters.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.sources import fingerprint
from logproc.sources.lines import LineSplitter

CHUNK = 256 * 1024


class State(enum.Enum):
    READING = "reading"
    EOF = "eof"
    ROTATED = "rotated"
    DELETED = "deleted"
    CLOSED = "closed"


@dataclass(slots=True)
class ReadStats:
    """Counters of one source, written by its watcher thread only."""

    lines: int = 0
    bytes: int = 0
    empty: int = 0
    pieces: int = 0


class Tailer:
    """Reads one file identity from its checkpoint on, as batches of complete lines."""

    def __init__(self, source: str, path: str, fd: int, st: os.stat_result, record: FileCheckpoint,
                 store: CheckpointStore, max_line_bytes: int, priority: int) -> None:
        self.source = source
        self.path = path
        self.fd: int | None = fd
        self.dev, self.ino = st.st_dev, st.st_ino
        self.key = fingerprint.file_key(st)
        self.record = record
        self.store = store
        self.priority = priority
        self.pos = record.offset  # next byte to read
        self.emitted = record.offset  # end of the last batch handed out
        self.gen = 0
        self.state = State.READING
        self.splitter = LineSplitter(max_line_bytes)
        self.size = st.st_size
        self.closed_at = 0.0
        self.rotated_at = 0.0

    # -- reading -----------------------------------------------------------------------
    def read(self, stats: ReadStats, chunk: int = CHUNK) -> Batch | None:
        """Read up to `chunk` bytes; a batch of the complete lines, or None at EOF."""
        if self.fd is None:
            return None
        data = os.pread(self.fd, chunk, self.pos)
        if not data:
            if self.state is State.READING:
                self.state = State.EOF
            return None
        if self.state is State.EOF:
            self.state = State.READING
        self.pos += len(data)
        stats.bytes += len(data)
        if self.record.fp_len < fingerprint.FP_BYTES and self.pos > self.record.fp_len:
            self._upgrade_fingerprint()
        split = self.splitter.feed(data)
        stats.empty += split.empty
        stats.pieces += split.pieces
        return self._batch(split.lines, split.parts, self.pos - self.splitter.pending, stats)

    def flush_partial(self, stats: ReadStats) -> Batch | None:
        """At the end of a `--once` run: hand out the unterminated last line."""
        split = self.splitter.flush()
        if not split.lines:
            return None
        return self._batch(split.lines, split.parts, self.pos, stats)

    def _batch(self, lines: list[bytes], parts: list[int] | None, end: int, stats: ReadStats) -> Batch | None:
        if end <= self.emitted:
            return None
        stats.lines += len(lines)
        batch = Batch(self.source, self.key, self.path, lines, self.emitted, end, time.time(),
                      self.priority, parts, gen=self.gen)
        self.emitted = end
        return batch

    def _upgrade_fingerprint(self) -> None:
        if self.fd is None:
            return
        fp_len, fp = fingerprint.head(self.fd, self.pos)
        if fp_len > self.record.fp_len:
            self.store.update(self.record, fp_len=fp_len, fp=fp)

    # -- state checks (the periodic stat pass) -------------------------------------------
    def check(self) -> State:
        """Look at the file and its path; update and return the state."""
        if self.fd is None:
            return self.state
        fst = os.fstat(self.fd)
        self.size = fst.st_size
        if fst.st_size < self.pos:
            self.truncated()
        if self.state in (State.ROTATED, State.DELETED):
            return self.state
        if fst.st_nlink == 0:
            self.state = State.DELETED
            return self.state
        try:
            pst = os.stat(self.path)
        except OSError:
            pst = None
        if pst is None or (pst.st_dev, pst.st_ino) != (self.dev, self.ino):
            self.state = State.ROTATED
            self.rotated_at = time.monotonic()
        return self.state

    def truncated(self) -> None:
        """The file shrank under us: start over at 0 in a new generation."""
        self.gen += 1
        self.pos = self.emitted = 0
        self.splitter.reset()
        self.store.reset(self.record, gen=self.gen)
        if self.state is State.EOF:
            self.state = State.READING

    @property
    def caught_up(self) -> bool:
        return self.fd is not None and self.pos >= self.size and self.state is not State.READING

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.state = State.CLOSED
        self.closed_at = time.monotonic()


def open_file(path: str) -> tuple[int, os.stat_result]:
    """Open for reading (following symlinks) and fstat; raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    return fd, st
