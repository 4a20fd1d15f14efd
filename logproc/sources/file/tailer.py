"""One tailer per file: a state machine that reads one file identity from its checkpoint on.

    READING ⇄ EOF            data waiting / caught up (a stat pass or an event wakes it)
    EOF → SUSPENDED          idle and closed to stay under `max_open_files`; reopened by
                             identity (device + inode) when the stat pass sees it grow
    * → ROTATED              the path names another file now (or nothing): read the old one
                             to its end, keep it open `ROTATE_WAIT` s for late writers
    * → DELETED              unlinked while open: read to the end, then release it
    * → CLOSED               done

Truncation is handled by the owner (`FileSource`), which decides between "the copy holds
the rest" (`switch_to`) and "start over" (`restart`). The tailer only reads ahead: the
delivered offset lives in its checkpoint record and moves only on acknowledgements.
Reads use `pread` at an explicit position, so the descriptor's own offset never matters.

A compressed file (`fmt` set: gzip, zstd, xz, bzip2) is read through a decoder
(`sources.compressed`); its positions, fingerprint and tail hashes are those of the
decompressed bytes. It is resumed by decoding and discarding up to the position, and the
64 bytes before it are checked against the checkpoint's tail hash on the way (a mismatch,
or content shorter than the position, sets `replaced`). It is done (`archive_done`) at the
end of its last stream. An archive cut short is `broken` once it is older than
`ARCHIVE_SETTLE` (a younger one may still be being written: it is tried again); bytes
that do not decode make it `broken` at once. The owner counts what is lost.
"""

from __future__ import annotations

import enum
import itertools
import os
import time
from typing import Any

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.sources.base import SourceStats
from logproc.sources.file import compressed, fingerprint
from logproc.sources.file.lines import LineSplitter
from logproc.sources.file.multiline import MultilineSplitter

# bytes per read, so at most one batch; 256 KiB cost J2 ~30% in per-batch work (commit,
# hand-offs), 1 MiB amortises it (docs/performance.md). A kill re-sends at most one.
CHUNK = 1024 * 1024  # bytes per read at most
MIN_CHUNK = 4096  # bytes per read at least (a smaller batch target: see FileSource._chunk)
ARCHIVE_SETTLE = 5.0  # seconds since an archive's last change before "cut short" means broken
_streams = itertools.count()


def _splitter(max_line_bytes: int, multiline: Any, offsets: bool) -> LineSplitter | MultilineSplitter:
    """Lines, or entries of several lines when the source has `multiline`."""
    if multiline is not None:
        return MultilineSplitter(multiline.start, max_line_bytes, offsets)
    return LineSplitter(max_line_bytes, offsets)


class State(enum.Enum):
    READING = "reading"
    EOF = "eof"
    SUSPENDED = "suspended"
    ROTATED = "rotated"
    DELETED = "deleted"
    CLOSED = "closed"




class Tailer:
    """Reads one file identity as batches of complete lines."""

    def __init__(self, source: str, path: str, fd: int, st: os.stat_result, record: FileCheckpoint,
                 store: CheckpointStore, max_line_bytes: int, priority: int,
                 multiline: Any = None, fmt: str | None = None, offsets: bool = False) -> None:
        self.source = source
        self.path = path
        self.fd: int | None = fd
        self.dev, self.ino = st.st_dev, st.st_ino
        self.record = record
        self.store = store
        self.priority = priority
        self.stream = f"{source}/{next(_streams)}"  # queue and ack ordering key
        self.pos = record.offset  # next byte to read
        self.emitted = record.offset  # end of the last batch handed out
        self.emitted_tail = record.tail_hash  # hash of the bytes before `emitted`
        self.state = State.READING
        # multiline: a `MultilineConfig` (start, timeout); its entries replace lines
        # offsets: each line's offset goes with the batch (a sink uses the entries' ids)
        self.splitter: LineSplitter | MultilineSplitter = _splitter(max_line_bytes, multiline, offsets)
        self.entry_timeout = multiline.timeout if multiline is not None else 0.0
        self.size = st.st_size
        self.seen_size = st.st_size  # the largest size seen (what a truncation destroyed)
        self.opened_wall = time.time()
        self.last_read = time.monotonic()
        self.rotated_at = 0.0
        self.fmt = fmt  # compression format: read decompressed (see the module doc)
        self._archive: compressed.Decompressed | None = None
        self.archive_done = False  # an archive read to the end of its last stream
        self.broken = ""  # why an archive cannot be read further (cut short, corrupt)
        self.archive_cpos = 0  # compressed bytes decoded so far
        self.expected_size = 0  # an archive's decompressed size when a checkpoint knows it
        self.became_compressed = False  # a file empty when opened turned out compressed
        # an archive cannot be pread: the decompressed bytes from 64 before the last batch's
        # end to `pos`, for the next batch's tail hash (its start offset: `_recent_base`)
        self._recent = b""
        self._recent_base = 0
        self.rotated_from = ""  # the path it was rotated away from (for generation scans)
        self.tail_bytes: bytes | None = None  # the last TAIL_BYTES bytes read (None: not yet)
        self.replaced = False  # `read` found other bytes before its position: truncated
        self.copy_wait_since = 0.0  # truncated, its copy not found yet: when the search began

    @property
    def key(self) -> str:
        return f"{self.dev}:{self.ino}"

    # -- reading -----------------------------------------------------------------------
    def read(self, stats: SourceStats, chunk: int = CHUNK) -> Batch | None:
        """Read up to `chunk` bytes; a batch of the complete lines, or None.

        Each read also re-reads the `TAIL_BYTES` bytes before the position (one `pread`,
        no extra call) and compares them with what was read there: a file truncated and
        rewritten past our position between two reads (or between adoption and the first
        read) sets `replaced` instead of splicing its new bytes onto our partial line; the
        owner handles it as a truncation.
        """
        if self.fd is None:
            return None
        got = self._read_archive(chunk) if self.fmt else self._read_plain(chunk)
        if got is None:
            return None
        raw, data = got
        if self.state is State.EOF:
            self.state = State.READING
        self.last_read = time.monotonic()
        self.pos += len(data)
        self.tail_bytes = raw[-fingerprint.TAIL_BYTES:]
        self.size = max(self.size, self.pos)
        self.seen_size = max(self.seen_size, self.pos)
        stats.bytes += len(data)
        if self.fmt:
            self._recent += data
        elif self.record.fp_len < fingerprint.FP_BYTES and self.pos > self.record.fp_len:
            fp_len, fp = fingerprint.head(self.fd, self.pos)
            if fp_len > self.record.fp_len:
                self.store.update(self.record, fp_len=fp_len, fp=fp)
        split = self.splitter.feed(data, self.pos - len(data))
        stats.empty += split.empty
        stats.pieces += split.pieces
        end = self.pos - self.splitter.pending
        # the batch's tail hash from the bytes in hand when they reach back far enough
        keep = len(raw) - self.splitter.pending
        reach = keep >= min(end, fingerprint.TAIL_BYTES)
        tail = raw[max(0, keep - fingerprint.TAIL_BYTES):keep] if reach else None
        return self._batch(split.lines, split.parts, end, stats, tail, split.offsets)

    def _read_plain(self, chunk: int) -> tuple[bytes, bytes] | None:
        """(the bytes before the position and the data read, the data) from the file."""
        assert self.fd is not None
        back = min(self.pos, fingerprint.TAIL_BYTES)
        raw = os.pread(self.fd, chunk + back, self.pos - back)
        if back:
            before = raw[:back]
            if self.tail_bytes is not None:
                same = before == self.tail_bytes[-back:]
            else:  # first read since adoption: only the checkpoint's hash is known
                same = self.pos != self.emitted or not self.emitted_tail or (
                    len(before) == back and fingerprint.digest(before) == self.emitted_tail)
            if not same:
                self.replaced = True
                return None
            data = raw[back:]
        else:
            data = raw
        if not data:
            if self.state is State.READING:
                self.state = State.EOF
            return None
        if self.pos == 0 and compressed.format_of(data) is not None:
            self.became_compressed = True  # empty when opened, compressed now: the owner reopens it
            return None
        return raw, data

    def _read_archive(self, chunk: int) -> tuple[bytes, bytes] | None:
        """The same from the decoder of a compressed file."""
        if self._archive is None and not self._open_archive():
            return None
        assert self._archive is not None
        try:
            data = self._archive.read(chunk)
        except compressed.Truncated as exc:
            self._drop_archive()
            if self.settling():
                self.state = State.EOF  # still being written: tried again by the stat pass
            else:
                self.broken = f"the archive ends early ({exc})"
            return None
        except compressed.Corrupt as exc:
            self._drop_archive()
            self.broken = f"the archive does not decode ({exc})"
            return None
        if not data:
            self.archive_done = True
            self.state = State.EOF
            self._drop_archive()
            return None
        self.archive_cpos = self._archive.compressed_pos
        before = self.tail_bytes or b""
        return before + data, data

    def _open_archive(self) -> bool:
        """A decoder at `pos`, the bytes before it checked against the checkpoint's hash."""
        assert self.fd is not None and self.fmt is not None
        reader = compressed.Decompressed(self.fd, self.fmt)
        back = min(self.pos, fingerprint.TAIL_BYTES)
        try:
            reader.skip(self.pos - back)
            before = reader.read(back) if back else b""
        except compressed.Truncated:
            before = b""
        except compressed.Corrupt as exc:
            reader.close()
            self.broken = f"the archive does not decode ({exc})"
            return False
        if len(before) < back or (self.pos == self.emitted and self.emitted_tail and back
                                  and fingerprint.digest(before) != self.emitted_tail):
            reader.close()
            if len(before) < back and self.settling():
                self.state = State.EOF  # not that far yet: still being written
            else:
                self.replaced = True  # not the content our position belongs to
            return False
        self.tail_bytes = before if back else None
        self._recent, self._recent_base = before, self.pos - len(before)
        self._archive = reader
        return True

    def _drop_archive(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    def settling(self) -> bool:
        """Was the file changed within `ARCHIVE_SETTLE` seconds (an archive being written)?"""
        if self.fd is None:
            return False
        return time.time() - os.fstat(self.fd).st_mtime < ARCHIVE_SETTLE

    def flush_partial(self, stats: SourceStats) -> Batch | None:
        """At the end of a `--once` run: hand out the unterminated last line."""
        split = self.splitter.flush()
        stats.empty += split.empty
        stats.pieces += split.pieces
        # with no line (blank lines, a lone `\r`) the batch still moves the checkpoint to `pos`
        return self._batch(split.lines, split.parts, self.pos, stats, self.tail_bytes, split.offsets)

    def flush_entry(self, stats: SourceStats) -> Batch | None:
        """Multiline: hand out the entry being built (the file was quiet for its timeout)."""
        if not isinstance(self.splitter, MultilineSplitter):
            return None
        split = self.splitter.flush_entry()
        stats.empty += split.empty
        stats.pieces += split.pieces
        return self._batch(split.lines, split.parts, self.pos - self.splitter.pending, stats,
                           offsets=split.offsets)

    @property
    def entry_due(self) -> float:
        """Multiline: monotonic time when the entry being built is complete by timeout
        (0: none is waiting)."""
        if self.entry_timeout and isinstance(self.splitter, MultilineSplitter) and self.splitter.holds_entry:
            return self.last_read + self.entry_timeout
        return 0.0

    def _batch(self, lines: list[bytes], parts: list[int] | None, end: int, stats: SourceStats,
               tail_bytes: bytes | None = None, offsets: list[int] | None = None) -> Batch | None:
        if end <= self.emitted:
            return None
        assert self.fd is not None
        if offsets is not None and self.store.unsaved_idents:
            self.store.save_idents()  # the ids a sink sees must survive a SIGKILL
        stats.lines += len(lines)
        if self.fmt:
            low = max(0, end - fingerprint.TAIL_BYTES)
            tail_bytes = self._recent[low - self._recent_base:end - self._recent_base]
            if low > self._recent_base:
                self._recent, self._recent_base = self._recent[low - self._recent_base:], low
        if tail_bytes is not None and len(tail_bytes) == min(end, fingerprint.TAIL_BYTES):
            tail = fingerprint.digest(tail_bytes)
        else:
            tail = fingerprint.tail_hash(self.fd, end)
        batch = Batch(self.source, self.stream, self.path, lines, self.emitted, end, time.time(),
                      self.priority, parts, self.record, tail, offsets=offsets, ident=self.record.ident)
        self.emitted = end
        self.emitted_tail = tail
        return batch

    # -- the stat pass -----------------------------------------------------------------
    def check(self) -> tuple[State, bool]:
        """Look at the open file and its path: (state, truncated?)."""
        if self.fd is None:
            return self.state, False
        fst = os.fstat(self.fd)
        if self.fmt:  # an archive: never truncated, its sizes are decompressed ones
            if fst.st_nlink == 0 and self.state is not State.DELETED:
                self.state = State.DELETED  # still read to its end through the descriptor
            elif self.state is State.EOF and not self.archive_done:
                self.state = State.READING  # one that was still being written: try again
            self.size = max(self.size, self.pos)
            return self.state, False
        self.size = fst.st_size
        # shrank below what we read, or below what a pass saw even if we had not read it yet
        # (copytruncate while reading waited on the pipeline), or rewritten under our offset
        truncated = fst.st_size < max(self.pos, self.seen_size) or (
            self.emitted > 0 and fst.st_size >= self.emitted
            and fingerprint.tail_hash(self.fd, self.emitted) != self.emitted_tail) or (
            # other first bytes: rewritten to the same length (copytruncate twice between two
            # passes; nothing handed out yet, so no hash before an offset to compare; or lines
            # whose last 64 bytes are alike). One pread of up to 1 KiB per pass.
            self.record.fp_len > 0
            and not fingerprint.matches(self.fd, self.record.fp_len, self.record.fp))
        if not truncated:
            self.seen_size = max(self.seen_size, fst.st_size)
            if self.record.fp_len < fingerprint.FP_BYTES and fst.st_size > self.record.fp_len:
                # the first bytes identify the content even before we read it: a copy made of
                # it before we read it (copytruncate) is then recognised
                fp_len, fp = fingerprint.head(self.fd, fst.st_size)
                if fp_len > self.record.fp_len:
                    self.store.update(self.record, fp_len=fp_len, fp=fp)
        if self.state not in (State.ROTATED, State.DELETED):
            if fst.st_nlink == 0:
                self.state = State.DELETED
            else:
                try:
                    pst = os.stat(self.path)
                except OSError:
                    pst = None
                if pst is None or (pst.st_dev, pst.st_ino) != (self.dev, self.ino):
                    self.state = State.ROTATED
                    self.rotated_at = time.monotonic()
        if self.state is State.EOF and self.pos < self.size:
            self.state = State.READING
        return self.state, truncated

    # -- transitions -------------------------------------------------------------------
    def restart(self, record: FileCheckpoint) -> None:
        """Read this file from `record.offset` again with a fresh record (truncated)."""
        self.record = record
        self.pos = self.emitted = record.offset
        self.emitted_tail = record.tail_hash
        self.seen_size = 0  # the next pass sees the new content's size (`size` is the old one's)
        self.tail_bytes = None
        self.splitter.reset()
        if self.state in (State.EOF, State.SUSPENDED):
            self.state = State.READING

    def switch_to(self, path: str, fd: int, st: os.stat_result, fmt: str | None = None) -> None:
        """Continue reading the same content from its copy (copytruncate; `fmt`: a copy that
        was compressed right away): same positions, same partial line; the checkpoint record
        follows to the copy's identity."""
        if self.fd is not None:
            os.close(self.fd)
        self._drop_archive()
        self.fd, self.path = fd, path
        self.dev, self.ino = st.st_dev, st.st_ino
        self.size = st.st_size if fmt is None else self.size
        self.fmt = fmt
        self.store.update(self.record, dev=st.st_dev, ino=st.st_ino, path=path, fmt=fmt or "", csize=0)
        self.state = State.ROTATED
        self.rotated_at = time.monotonic() - ROTATE_WAIT  # nobody writes to a copy

    def reconfigure(self, max_line_bytes: int, priority: int, multiline: Any) -> None:
        """Taken over by a reloaded source: its settings apply from the last line handed
        out (what was read past it is read again with the new splitter)."""
        self.priority = priority
        self.splitter = _splitter(max_line_bytes, multiline, self.splitter.offsets)
        self.entry_timeout = multiline.timeout if multiline is not None else 0.0
        self.pos = self.emitted
        self.tail_bytes = None  # the first read checks the bytes before `emitted` by hash

    @property
    def offsets(self) -> bool:
        return self.splitter.offsets

    @offsets.setter
    def offsets(self, on: bool) -> None:
        """Give lines' offsets from the next read on (a reload added or removed a sink that
        uses ids)."""
        self.splitter.offsets = on

    def suspend(self) -> None:
        """Close an idle file to free a descriptor; `resume` reopens it by identity."""
        self._drop_archive()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.state = State.SUSPENDED

    def resume(self, fd: int) -> None:
        self.fd = fd
        self.state = State.READING

    def close(self) -> None:
        self._drop_archive()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.state = State.CLOSED

    @property
    def done_waiting(self) -> bool:
        """Rotated away or deleted, read to the end, and (rotated) past the grace period; an
        archive read to its end."""
        if self.fmt:
            return self.archive_done
        if self.state is State.DELETED:
            return self.pos >= self.size
        return (self.state is State.ROTATED and self.pos >= self.size
                and time.monotonic() - self.rotated_at >= ROTATE_WAIT)


ROTATE_WAIT = 5.0  # seconds a rotated-away file stays open for late writers


def open_file(path: str) -> tuple[int, os.stat_result]:
    """Open for reading (following symlinks) and fstat; raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    return fd, st
