"""Checkpoints: how far each stream has been *delivered*, kept across restarts.

One store, one versioned file, for every kind of position. A record is a `Checkpoint`;
the pipeline only hands it back to `advance` with a batch's end once the batch is
acknowledged, and never looks inside:
- `FileCheckpoint`, one per file identity (`"dev:ino"`): device, inode, a fingerprint of
  the first bytes (up to 1 KiB; a smaller file has a provisional fingerprint that grows
  with it), a hash of the bytes just before the offset, the offset, the source and the
  last path seen, and `ident`: 16 random hex digits naming the content for good (the
  entries' stable identities are `ident` and a line's offset, see `logproc.pipeline.ids`;
  an archive or copy that continues a record keeps it; a record read from a file written
  before idents existed gets one at load);
- `CursorCheckpoint`, one per source that reads a journal: the cursor of the last entry
  delivered.

Contract:
- A position only ever moves to the end of a batch that every routed sink acknowledged
  (the ack tracker calls `advance`); reading ahead never moves it.
- `commit()` writes the whole document atomically: temp file, fsync, rename, fsync of the
  folder; mode 0600; a `version` field. Before replacing, the current good file is
  hard-linked to `checkpoints.json.prev` (by durable commits), so a file found corrupt at
  start-up (disk error, hand edit) is reported and the previous generation is used:
  older, so at worst some lines are delivered twice, never lost.
- Light commits (no fsync) follow every sink write; durable ones come on a timer and at
  shutdown (see `daemon.committer`).
- Thread-safe: sources add records, consumers advance, sinks and the committer commit.
- Idents are durable before they are used: a record created (or given an ident at load)
  since the last write makes `unsaved_idents` true until a commit wrote it; the file
  source commits (light) before handing out a batch of such a record (`save_idents`).
  Decision: idents are random, not derived from the content (fingerprint, inode): two
  files with the same first KiB, or an inode reused, would share ids, and a destination
  that deduplicates would then drop the second file's lines (a silent loss); a lost
  checkpoint file only costs duplicates (new idents), never a loss.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from logproc.log import get_logger

FORMAT_VERSION = 2  # 1: files only (read, and written as 2 from then on)
FILE_NAME = "checkpoints.json"
MAX_ORPHANS = 512  # records set aside kept at most (each a few hundred bytes per commit)

log = get_logger("checkpoints")


class Checkpoint:
    """A record of how far one stream was delivered (see the module doc)."""

    __slots__ = ()
    source: str

    def advance(self, end: Any, tail: str) -> int | None:
        """Move the position forward to `end` (never back): None when it did not move,
        else the bytes it moved by (0 when the position is not in bytes)."""
        raise NotImplementedError


@dataclass(slots=True)
class FileCheckpoint(Checkpoint):
    """The delivery position of one file identity."""

    dev: int
    ino: int
    fp_len: int  # bytes covered by `fp` (< 1024 while the file is small: provisional)
    fp: str  # hex digest of the first fp_len bytes
    offset: int  # delivered up to here
    path: str
    source: str
    tail_hash: str = ""  # hex digest of up to 64 bytes before `offset` ("" at offset 0)
    updated: float = 0.0  # last time the offset moved (epoch seconds)
    size: int = 0  # file size last seen by the tailer, for lag and loss accounting
    gone_since: float = 0.0  # when the file was first found missing (0: present)
    fmt: str = ""  # compression format of the file ("": plain); offsets are decompressed ones
    csize: int = 0  # compressed size of an archive (with `size` known: read to its end)
    ident: str = ""  # the content's stable name in entry ids ("" only until the store indexes it)

    @property
    def key(self) -> str:
        return f"{self.dev}:{self.ino}"

    def advance(self, end: Any, tail: str) -> int | None:
        if end <= self.offset:
            return None
        moved = end - self.offset
        self.offset = end
        self.tail_hash = tail
        self.updated = time.time()
        return int(moved)


@dataclass(slots=True)
class CursorCheckpoint(Checkpoint):
    """The delivery position of a source that reads the journal: the cursor of the last
    entry delivered ("" before any)."""

    source: str
    cursor: str = ""
    updated: float = 0.0

    def advance(self, end: Any, tail: str) -> int | None:
        # Cursors are opaque and have no order of their own: acknowledgements arrive in the
        # stream's order (see logproc.pipeline.acks), so the latest is the furthest.
        if end == self.cursor:
            return None
        self.cursor = end
        self.updated = time.time()
        return 0


_FIELDS = tuple(f.name for f in fields(FileCheckpoint))
_CURSOR_FIELDS = tuple(f.name for f in fields(CursorCheckpoint))


def new_ident() -> str:
    """A fresh file ident: 16 hex digits (64 random bits: no collision in practice)."""
    return secrets.token_hex(8)


class CheckpointStore:
    """In-memory checkpoints with atomic, versioned persistence in `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / FILE_NAME
        self._lock = threading.Lock()
        self._records: dict[str, FileCheckpoint] = {}
        # records displaced from the index by another file under their inode (the inode was
        # freed by a deletion and reused: logrotate's archive, a copy): kept, marked gone, so
        # that an archive of their content can still continue them (see `put`)
        self._orphans: list[FileCheckpoint] = []
        self._cursors: dict[str, CursorCheckpoint] = {}  # source -> its journal position
        self.acked: dict[str, int] = {}  # source -> bytes acknowledged by this process
        self._dirty = False
        self._new_idents = False  # an ident not written yet (see the module doc)
        self._commit_lock = threading.Lock()  # one writer of the files at a time
        self.unsynced = False  # a light commit is on disk without fsync
        self.read_failures = 0

    # -- loading -----------------------------------------------------------------------
    def load(self) -> None:
        """Read the last committed state; a corrupt file falls back to the previous one."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for candidate in (self.path, self.path.with_name(FILE_NAME + ".prev")):
            try:
                raw = _read_nofollow(candidate)
            except FileNotFoundError:
                continue
            try:
                self._records, self._orphans, self._cursors, version = _decode(raw)
            except (ValueError, KeyError, TypeError) as exc:
                self.read_failures += 1
                log.error("checkpoint file is corrupt, trying the previous one",
                          path=str(candidate), error=str(exc))
                continue
            # records written before idents existed get theirs now (written at the next commit)
            self._assign_idents([*self._records.values(), *self._orphans])
            if candidate != self.path:
                log.warning("using previous checkpoint generation", path=str(candidate))
            if version != FORMAT_VERSION:
                log.info("checkpoint file migrated; it is written in the new format from now on",
                         path=str(candidate), version=version, new_version=FORMAT_VERSION)
                self._mark()
            return
        self._records, self._orphans, self._cursors = {}, [], {}

    def _assign_idents(self, records: list[FileCheckpoint]) -> bool:
        """Give each record without an ident one; True when any was given (to be written)."""
        given = False
        for rec in records:
            if not rec.ident:
                rec.ident = new_ident()
                given = True
        if given:
            self._new_idents = True
            self._mark()
        return given

    @property
    def unsaved_idents(self) -> bool:
        """A record's ident is not in the checkpoint file yet (see `save_idents`)."""
        return self._new_idents

    def save_idents(self) -> None:
        """Write the store (light commit) if an ident is not written yet: called before a
        batch of a new record is handed out, so the ids a sink sees survive a SIGKILL. A
        failed write is logged and tried again at the next batch."""
        if self._new_idents:
            self.commit_light()

    # -- access ------------------------------------------------------------------------
    # Records are objects: a batch holds the record it will advance, so an acknowledgement
    # lands on the right record even after the record was re-keyed (its file was found to be
    # a copy) or replaced in the index (its file was truncated: the new content gets a new
    # record, and late acknowledgements of the old content advance an orphan, harmlessly).
    def get(self, key: str) -> FileCheckpoint | None:
        return self._records.get(key)

    def put(self, record: FileCheckpoint) -> None:
        """Index `record` under its key. A record of another file that held the key is
        kept aside, marked gone (`records()` still lists it, `get()` no longer finds it)."""
        with self._lock:
            if not record.ident:
                self._assign_idents([record])
            self._index(record)
            self._mark()

    def remove(self, record: FileCheckpoint) -> None:
        with self._lock:
            if self._records.get(record.key) is record:
                del self._records[record.key]
                self._mark()
            self._unorphan(record)

    def records(self) -> list[FileCheckpoint]:
        """Every record: those indexed by their key, then those set aside."""
        with self._lock:
            return [*self._records.values(), *self._orphans]

    def update(self, record: FileCheckpoint, **changes: Any) -> None:
        """Change fields of a record consistently with a concurrent commit. A record set
        aside that gets a new identity (`dev`/`ino`: its content found in another file) is
        indexed again under it."""
        with self._lock:
            indexed = self._records.get(record.key) is record
            if indexed:
                del self._records[record.key]
            for name, value in changes.items():
                setattr(record, name, value)
            if indexed or ("ino" in changes and self._unorphan(record)):
                self._index(record)
            self._mark()

    def _index(self, record: FileCheckpoint) -> None:
        key = record.key
        held = self._records.get(key)
        if held is not None and held is not record and held.offset:
            if not held.gone_since:
                held.gone_since = time.time()
            self._orphans.append(held)
            del self._orphans[:-MAX_ORPHANS]  # oldest first out: the store stays small
        self._records[key] = record
        self._unorphan(record)

    def _unorphan(self, record: FileCheckpoint) -> bool:
        for i, o in enumerate(self._orphans):
            if o is record:
                del self._orphans[i]
                return True
        return False

    def cursor(self, source: str) -> CursorCheckpoint:
        """The journal position of `source` (a new, empty one the first time)."""
        with self._lock:
            rec = self._cursors.get(source)
            if rec is None:
                rec = self._cursors[source] = CursorCheckpoint(source)
            return rec

    def cursors(self) -> list[CursorCheckpoint]:
        with self._lock:
            return list(self._cursors.values())

    def forget_cursor(self, source: str) -> None:
        with self._lock:
            if self._cursors.pop(source, None) is not None:
                self._mark()

    def advance(self, record: Checkpoint, end: Any, tail: str) -> None:
        """Move `record`'s delivered position forward (never back) to `end`."""
        with self._lock:
            moved = record.advance(end, tail)
            if moved is not None:
                if moved:
                    self.acked[record.source] = self.acked.get(record.source, 0) + moved
                self._mark()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def touch(self) -> None:
        """Mark the state changed (a record was edited in place by its owner)."""
        self._mark()

    def _mark(self) -> None:
        self._dirty = True

    # -- persistence -------------------------------------------------------------------
    def commit_light(self) -> None:
        """A non-durable commit right after an acknowledgement (called by sink threads).

        Every write of every sink is followed by one when offsets moved, and the sink
        writes nothing more until it is done, so a crash of the process re-sends at most
        the write in progress: one batch per file. It blocks while another commit runs,
        then writes only if that one did not already cover these acknowledgements.

        Decision: an earlier version deferred a light commit that came too soon after a
        costly one (10,000 files) to the committer thread; that let several writes go
        uncommitted and a kill re-sent up to five batches. Blocking costs little: while a
        commit runs the sink's inbox fills, and its next write takes a batch from every
        waiting file at once, so commits amortise over files by themselves.
        """
        if not self._dirty:
            return
        with self._commit_lock:
            try:
                self._write(durable=False)
            except OSError as exc:
                log.error("checkpoint commit failed", error=str(exc), path=str(self.path))

    def commit(self, force: bool = False, durable: bool = True) -> bool:
        """Persist atomically if anything changed since the last commit. True if written.

        `durable=False` skips the fsyncs: the rename is still atomic, and the page cache
        outlives a crash of the process (SIGKILL, OOM), just not of the machine. The
        committer uses it right after acknowledgements, so a kill re-sends little; a
        durable commit follows every `checkpoint_interval` and at shutdown.
        """
        with self._commit_lock:
            return self._write(durable, force)

    def _write(self, durable: bool, force: bool = False) -> bool:
        with self._lock:
            if not (self._dirty or force):
                return False
            # orjson encodes the slotted dataclasses itself, several times faster than a
            # dict per record; done under the lock, so the records cannot move meanwhile
            data = orjson.dumps({"version": FORMAT_VERSION, "written": time.time(),
                                 "files": [*self._records.values(), *self._orphans],
                                 "cursors": list(self._cursors.values())})
            self._dirty = False
            idents, self._new_idents = self._new_idents, False
        tmp = self.path.with_name(FILE_NAME + ".tmp")
        try:
            fd = _create_exclusive(tmp)
            try:
                # Blocks allocated up front: ext4 (auto_da_alloc) otherwise starts writeback
                # of a delayed-allocation file renamed over another, which doubled the cost
                # of every light commit (docs/performance.md). Same bytes, same rename.
                with contextlib.suppress(OSError):
                    os.posix_fallocate(fd, 0, len(data))
                os.write(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if durable and self.path.exists():
                prev_tmp = self.path.with_name(FILE_NAME + ".prev.tmp")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(prev_tmp)
                os.link(self.path, prev_tmp, follow_symlinks=False)
                os.replace(prev_tmp, self.path.with_name(FILE_NAME + ".prev"))
            os.replace(tmp, self.path)
            self.unsynced = not durable
            if durable:
                dfd = os.open(self.state_dir, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError:
            self._mark()
            self._new_idents = self._new_idents or idents
            raise
        return True


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _create_exclusive(path: Path) -> int:
    """A new file at `path`, 0600, never through a symlink: a temp file left by a crash (or
    anything planted under its name) is unlinked first, which removes a link, not its target."""
    try:
        return os.open(path, _CREATE, 0o600)
    except FileExistsError:
        os.unlink(path)
        return os.open(path, _CREATE, 0o600)


def _read_nofollow(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def _decode(raw: bytes) -> tuple[dict[str, FileCheckpoint], list[FileCheckpoint],
                                 dict[str, CursorCheckpoint], int]:
    """The file records indexed by key, those set aside (a key met again: the record that
    is not gone is indexed), the cursor records by source, and the format version read."""
    doc = orjson.loads(raw)
    if not isinstance(doc, dict) or doc.get("version") not in (1, FORMAT_VERSION):
        raise ValueError(f"unknown checkpoint format version {doc.get('version')!r}"
                         if isinstance(doc, dict) else "not a checkpoint document")
    out: dict[str, FileCheckpoint] = {}
    aside: list[FileCheckpoint] = []
    for item in doc["files"]:
        rec = FileCheckpoint(**{k: item[k] for k in _FIELDS if k in item})
        held = out.get(rec.key)
        if held is None:
            out[rec.key] = rec
        elif held.gone_since and not rec.gone_since:
            aside.append(held)
            out[rec.key] = rec
        else:
            aside.append(rec)
    cursors = {}
    for item in doc.get("cursors", []):
        cur = CursorCheckpoint(**{k: item[k] for k in _CURSOR_FIELDS if k in item})
        cursors[cur.source] = cur
    return out, aside, cursors, doc["version"]
