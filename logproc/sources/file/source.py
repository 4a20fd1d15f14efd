"""The `file` source: one thread tails every file a source's globs match.

The thread alternates two duties:
- *discovery and the stat pass* (`rescan`): look at every tailer's file (growth, rotation,
  truncation, deletion), expand the globs and open new file identities. It runs every
  `STAT_INTERVAL` seconds — the guarantee — and sooner when a filesystem event hints that
  something changed (watchdog events are only wake-ups: inotify can overflow);
- *reading*: one chunk per file per round, round-robin, so a busy file cannot starve a
  quiet one; each chunk's complete lines become one batch on the queue.

Reading waits for the pipeline; discovering never does. A batch that does not fit in the
queue is kept (`pending`, in order) and reading stops until it is queued, but the thread
goes on: stat passes still run, new files and rotations are still found and opened
(within the descriptor budget), so a generation rotated, compressed or deleted while the
sinks are down is still read later, from its open descriptor. Memory stays bounded: one
read's batch waits per source (plus the last line of files retired meanwhile). A stopping
source queues what waits before it ends (a reload hands over positions past it).

Identity (see `identity` and the SPEC's Delivery section): a file with a checkpoint whose
fingerprint and tail hash still match resumes at its offset; truncation, copies, rotation
while stopped and unseen generations are `recovery`'s part. Loss is counted, never
silent: `lost["truncated"]` (truncated with no copy) and `lost["gone"]` (deleted before
it was read), `lost["corrupt"]` (an archive cut short or undecodable).

Compressed files (gzip, zstd, xz, bzip2, by magic bytes) are read decompressed and
recognised as the generations they were made from: see `archives`.

Descriptors: at most `budget` files are open; an idle file is closed (SUSPENDED) to make
room and reopened by identity when it grows.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.errors import QueueClosed
from logproc.log import get_logger
from logproc.pipeline.queue import BatchQueue
from logproc.sources.base import Source, SourceStats, SourceStatus
from logproc.sources.file import compressed, fingerprint, identity
from logproc.sources.file.archives import Archives
from logproc.sources.file.discovery import match_files, special_paths, watch_dirs
from logproc.sources.file.recovery import Recovery
from logproc.sources.file.tailer import CHUNK, MIN_CHUNK, State, Tailer, open_file

if TYPE_CHECKING:
    from logproc.sources.file.config import FileSourceConfig

STAT_INTERVAL = 1.0  # seconds between guaranteed stat passes
BLOCKED_WAKE = 0.25  # seconds between looks at events while the queue is full
RETENTION = 24 * 3600.0  # seconds a checkpoint outlives its vanished file
ARCHIVE_CHECK = 60.0  # seconds between looks at whether archives read earlier still exist

log = get_logger("source")


@dataclass(slots=True)
class Handover:
    """What a source replaced by a reload passes on: its tailers, descriptors open."""

    tailers: list[Tailer]
    finished: dict[str, int]


class FileSource(Recovery, Archives, Source):
    """Discovery plus one tailer per live file, for one configured source."""

    kind = "file"

    def __init__(self, name: str, cfg: FileSourceConfig, queue: BatchQueue, store: CheckpointStore,
                 once: bool = False, budget: int = 1024,
                 handover: Handover | None = None, stats: SourceStats | None = None,
                 batch_lines: int = 0, ids: bool = False) -> None:
        Source.__init__(self, name, cfg, stats)
        self.ids = ids  # a sink uses the entries' ids: tailers give each line's offset
        self.batch_lines = batch_lines  # entries per batch wanted (0: one whole read)
        self.cfg: FileSourceConfig = cfg
        self.queue = queue
        self.store = store
        self.once = once
        self.budget = max(4, budget)
        self.tailers: dict[str, Tailer] = {}  # key ("dev:ino") -> tailer
        self.finished: dict[str, int] = {}  # key -> position read to, of tailers closed while
        # their last batches may still be unacknowledged (so a rediscovery does not re-read)
        # A reload hands over the tailers of the source this one replaces, descriptors open
        # (rotated and deleted files included): reading goes on where it stopped, in the same
        # stream, so queue order and ack order hold across the reload without waiting.
        self.fresh_start = handover is None  # start_at and "no copy check" are for start-up only
        if handover is not None:
            self.finished.update(handover.finished)
            for t in handover.tailers:
                t.reconfigure(cfg.max_line_bytes, cfg.priority, cfg.multiline)
                t.offsets = ids
                self.tailers[t.key] = t
        self.deferred: dict[str, float] = {}  # path -> first seen, for files that look like a copy
        self.rewritten: list[tuple[str, float]] = []  # see `Recovery._recover_from_copy`
        self._folder_marks: dict[str, tuple[int, float]] = {}  # folder -> (mtime, when seen)
        self._next_archive_check = 0.0
        self.skipped: dict[str, tuple[int, int]] = {}  # archives read already (see `Archives._skip`)
        self.failed: dict[str, str] = {}  # path -> last error logged (log once per cause)
        self.pending: deque[Batch] = deque()  # read, not yet queued: the queue was full
        self._life = threading.Lock()  # `unstop` against the thread deciding to end
        self._ended = False
        self.started_wall = time.time()

    # -- lifecycle ---------------------------------------------------------------------
    def unstop(self) -> bool:
        """Take a `stop()` back if the thread has not ended yet (an abandoned reload): True
        when it reads on; False when it ended (then start a replacement with `handover`)."""
        with self._life:
            if self._ended:
                return False
            self._stop.clear()
            self.wake.set()
            return True

    def handover(self) -> Handover:
        """This ended source's tailers (descriptors still open) and positions, for the
        source that replaces it (call only once its thread has ended)."""
        assert self._ended, "hand over only after the source's thread ended"
        return Handover(list(self.tailers.values()), dict(self.finished))

    def folders(self) -> dict[str, bool]:
        return watch_dirs(list(self.cfg.paths))

    def use_ids(self, on: bool) -> None:
        self.ids = on  # the tailers follow at the next stat pass, in the source's thread
        self.wake.set()

    def status(self) -> SourceStatus:
        tailers = list(self.tailers.values())
        return SourceStatus(
            watched=sum(1 for t in tailers if t.state is not State.CLOSED),
            open_files=sum(1 for t in tailers if t.fd is not None),
            # bytes of deleted files kept alive by our open descriptors
            pinned_bytes=sum(t.size for t in tailers if t.state is State.DELETED and t.fd is not None),
            # bytes on disk not yet acknowledged (size - delivered offset)
            lag=sum(max(0, t.size - t.record.offset) for t in tailers))

    @property
    def files_watched(self) -> int:
        return self.status().watched

    # -- the source's loop -------------------------------------------------------------
    def _run(self) -> None:
        handing_over = False
        try:
            self._rescan(initial=True)
            # what start-up found to read (`run --once` progress), before any of it is read
            self.to_read = sum(max(0, t.size - t.pos) for t in self.tailers.values())
            self.ready.set()
            if self.once:
                self._read_all_once()
            else:
                while True:
                    self._follow()
                    while self.pending:  # whoever takes over reads on past these
                        self.queue.put(self.pending.popleft())
                    with self._life:
                        if self._stop.is_set():
                            self._ended = handing_over = True
                            break
        except QueueClosed:
            pass
        except Exception:
            log.exception("source thread failed", source=self.name)
            raise
        finally:
            with self._life:
                self._ended = True
            self.ready.set()
            if not handing_over or self.queue.closed:
                self.close()

    def close(self) -> None:
        """Release every descriptor (a stopped source nobody takes over)."""
        for t in self.tailers.values():
            if t.fd is not None:
                os.close(t.fd)
                t.fd = None

    def _follow(self) -> None:
        next_scan = time.monotonic() + STAT_INTERVAL
        multiline = self.cfg.multiline is not None
        while not self._stop.is_set():
            progressed = self._read_round()
            now = time.monotonic()
            due = self._flush_entries(now) if multiline else 0.0
            if now >= next_scan:
                self._rescan()
                next_scan = now + STAT_INTERVAL
            elif self.pending:  # the queue is full: wait for room, but keep discovering
                self.queue.wait_for_room(len(self.pending[0]), min(next_scan - now, BLOCKED_WAKE),
                                         self.pending[0].priority)
                if self.wake.is_set():
                    self.wake.clear()
                    self._rescan()
            elif not progressed:
                self.wake.wait(max(0.0, min(next_scan, due or next_scan) - now))
                if self.wake.is_set():
                    self.wake.clear()
                    self._rescan()

    def _flush_entries(self, now: float) -> float:
        """Multiline: hand out entries whose file has been quiet for the timeout; returns
        when the next one is due (0: none waits)."""
        soonest = 0.0
        for t in list(self.tailers.values()):
            due = t.entry_due
            if not due or t.fd is None:
                continue
            if due <= now:
                if self.pending:
                    break  # its entry is complete; handed out once the queue takes what waits
                batch = t.flush_entry(self.stats)
                if batch is not None:
                    self._offer(batch)
            elif not soonest or due < soonest:
                soonest = due
        return soonest

    def _read_all_once(self) -> None:
        """Read every matched file to its end, a budget's worth of files at a time."""
        while not self._stop.is_set():
            todo = [t for t in self.tailers.values() if t.fd is not None]
            if not todo:
                return
            for t in todo:
                self._drain_once(t)
                if t.became_compressed:
                    self._reopen_as_archive(t)
                    continue
                if t.fmt and not t.archive_done and not t.broken:  # no waiting in a backfill
                    t.broken = "the archive ends early (still being written?)"
                if t.broken:
                    self._archive_broken(t)
                    continue
                if t.fmt:
                    self._archive_read(t)
                self.finished[t.key] = t.pos
                t.close()
                del self.tailers[t.key]
                if self._stop.is_set():
                    return
            self._rescan()

    def _chunk(self) -> int:
        """Bytes per read: `batch_lines` lines at the mean line length read so far."""
        if not self.batch_lines:
            return CHUNK
        mean = self.stats.bytes // self.stats.lines if self.stats.lines else 128
        return min(CHUNK, max(MIN_CHUNK, mean * self.batch_lines))

    def _drain_once(self, t: Tailer) -> None:
        while not self._stop.is_set():
            try:
                batch = t.read(self.stats, self._chunk())
                if t.replaced:
                    t.replaced = False
                    self._truncated(t)  # `t` now reads the copy, or this file again from 0
                    continue
            except OSError as exc:
                self.read_errors += 1
                self._fail(t.path, "cannot read file", exc)
                return
            if batch is not None:
                self.queue.put(batch)
            elif t.became_compressed or t.broken or t.state is not State.READING:
                break
        batch = t.flush_partial(self.stats)
        if batch is not None:
            self.queue.put(batch)

    def _offer(self, batch: Batch) -> None:
        """Queue `batch` if it fits now, else keep it (after what already waits)."""
        if self.pending or not self.queue.put(batch, timeout=0):
            self.pending.append(batch)

    def _queue_pending(self) -> bool:
        """Queue what waits, as far as it fits now; True when nothing waits any more."""
        while self.pending:
            if not self.queue.put(self.pending[0], timeout=0):
                return False
            self.pending.popleft()
        return True

    def _read_round(self) -> bool:
        """One chunk from every tailer with data, while the queue takes them; True when
        anything was read."""
        progressed = False
        if not self._queue_pending():
            return False
        for t in list(self.tailers.values()):
            if self._stop.is_set() or self.pending:
                break
            if t.fd is None or t.state is State.EOF or t.copy_wait_since:
                continue
            try:
                batch = t.read(self.stats, self._chunk())
                if t.replaced:
                    t.replaced = False
                    self._truncated(t)
                    continue
            except OSError as exc:
                self._fail(t.path, "cannot read file", exc)
                self._retire(t)
                continue
            if batch is not None:
                self._offer(batch)
                progressed = True
            elif t.became_compressed:
                self._reopen_as_archive(t)
            elif t.broken:
                self._archive_broken(t)
        return progressed

    def _reopen_as_archive(self, t: Tailer) -> None:
        """A file that was empty when opened holds compressed data now (an archive being
        written when we found it): forget it; the next pass adopts it as an archive."""
        log.info("file turned out compressed; reading it as an archive", source=self.name, path=t.path)
        t.close()
        self.tailers.pop(t.key, None)
        self.store.remove(t.record)

    # -- discovery and the stat pass ---------------------------------------------------
    def _rescan(self, initial: bool = False) -> None:
        ids = self.ids
        for t in list(self.tailers.values()):
            if t.offsets != ids:
                t.offsets = ids
            try:
                self._look_at(t)
            except OSError as exc:
                self._fail(t.path, "cannot stat file", exc)
        # While rotations are recent, look for generations of the rotated paths that we have
        # not read (rotations faster than our passes, names shifting under a scan); ones we
        # did read have a checkpoint and resume at it. Repeated each pass for ROTATE_WAIT.
        for rotated_from in {t.rotated_from for t in self.tailers.values()
                             if t.state is State.ROTATED and t.rotated_from}:
            self._find_generations(rotated_from, self.started_wall)
        if not initial:
            self._changed_folders()
        matched = match_files(self.cfg.paths, self.cfg.exclude)
        found: list[tuple[bool, str, os.stat_result]] = []
        for path in matched:
            try:
                st = os.stat(path)
            except OSError:
                continue
            found.append((self.store.get(fingerprint.file_key(st)) is None, path, st))
        # files with a checkpoint first: their copies must be known before new files are read
        found.sort(key=lambda f: f[0])
        for _, path, st in found:
            key = fingerprint.file_key(st)
            if self.once and key in self.finished:
                continue
            known = self.tailers.get(key)
            if known is not None:
                if known.path != path and known.state is State.ROTATED:
                    known.path = path  # rotated to a name the globs match: follow it there
                    known.state = State.READING
                    self.store.update(known.record, path=path)
                continue
            if self._is_skipped(key, st):
                continue
            self._discover(path, st, initial and self.fresh_start)
        if initial:
            self._reconcile(set(matched))
            for path, kind in special_paths(list(self.cfg.paths), list(self.cfg.exclude)):
                log.warning(f"not a file that can be read line by line: {kind}; left alone",
                            source=self.name, path=path)
        if not self.once:
            self._prune()

    def _changed_folders(self) -> None:
        """A folder of a followed file whose entries changed since the last pass (its mtime
        moved: a file created, renamed or removed) may hold generations rotated away between
        two passes, several at once (copytruncate twice while reading waited, rotations
        faster than a pass): look for generations of its files that appeared since (one stat
        per folder per pass; the folder is scanned only when it changed)."""
        now = time.time()
        by_folder: dict[str, set[str]] = {}
        for t in self.tailers.values():
            if t.state not in (State.ROTATED, State.DELETED, State.CLOSED) and not t.fmt:
                by_folder.setdefault(os.path.dirname(t.path), set()).add(t.path)
        marks = {}
        for folder, paths in by_folder.items():
            try:
                mtime = os.stat(folder).st_mtime_ns
            except OSError:
                continue
            marks[folder] = (mtime, now)
            before = self._folder_marks.get(folder)
            if before is not None and before[0] != mtime:
                for path in sorted(paths):
                    self._find_generations(path, before[1] - 1.0)
        self._folder_marks = marks

    def _look_at(self, t: Tailer) -> None:
        """One tailer's part of the stat pass."""
        if t.state is State.SUSPENDED:
            self._look_at_suspended(t)
            return
        was = t.state
        state, truncated = t.check()
        t.record.size = t.size  # for loss accounting if the file vanishes while we are away
        if truncated or t.copy_wait_since:
            self._truncated(t)
            return
        if state is State.ROTATED and was is not State.ROTATED:
            log.info("file rotated", source=self.name, path=t.path)
            t.rotated_from = t.path
        if t.done_waiting:
            if t.fmt:
                self._archive_read(t)
            log.info("file released", source=self.name, path=t.path, state=state.value)
            self._retire(t)

    def _look_at_suspended(self, t: Tailer) -> None:
        try:
            st = os.stat(t.path)
        except OSError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) == (t.dev, t.ino):
            if st.st_size != t.pos and self._slot():
                fd, _ = open_file(t.path)
                t.resume(fd)
            return
        path = identity.find_by_inode(os.path.dirname(t.path), t.dev, t.ino)
        if path is not None and self._slot():
            fd, _ = open_file(path)
            t.path = path
            t.resume(fd)
            t.state = State.ROTATED
            t.rotated_at = time.monotonic()
            self.store.update(t.record, path=path)
        elif path is None:
            self.tailers.pop(t.key, None)
            if not self._continue_in_archive(t.record, t.path):  # compressed after rotation?
                self._lose(t.path, max(0, t.size - t.pos), "gone")
                self.store.remove(t.record)

    def _discover(self, path: str, st: os.stat_result, initial: bool, rotated: bool = False) -> Tailer | None:
        if not self._slot():
            return None  # over the descriptor budget: found again by the next pass
        try:
            fd, st = open_file(path)
        except OSError as exc:
            if path not in self.failed:
                self.read_errors += 1
            self._fail(path, "cannot open file", exc)
            return None
        self.failed.pop(path, None)
        key = fingerprint.file_key(st)
        try:
            return self._adopt(path, fd, st, key, initial, rotated)
        except OSError as exc:
            os.close(fd)
            self._fail(path, "cannot read file", exc)
            return None

    def _adopt(self, path: str, fd: int, st: os.stat_result, key: str, initial: bool,
               rotated: bool) -> Tailer | None:
        fmt = compressed.sniff(fd) if st.st_size >= 2 else None
        if fmt is not None:
            return self._adopt_archive(path, fd, st, key, fmt, initial, rotated)
        fp_len, fp = fingerprint.head(fd, st.st_size)
        rec = self.store.get(key)
        if rec is not None and (rec.source != self.name or rec.fmt):
            rec = None
        if rec is not None and rec.gone_since and (
                not rec.fp_len or not fingerprint.matches(fd, rec.fp_len, rec.fp)):
            # the inode of a file that was deleted, reused by a new one (a checkpoint of an
            # empty file knows no content: it matches anything, so it never claims a file
            # that took its inode after it was gone — a copytruncate copy was read again)
            rec = None
        if rec is not None and not fingerprint.matches(fd, rec.fp_len, rec.fp):
            # other first bytes under a known inode: truncated and rewritten while we were
            # away (its copy may hold the rest), or the inode was reused by a new file
            log.info("file has new content under a known inode", source=self.name, path=path,
                     previous=rec.path)
            self._recover_from_copy(rec, path)
            rec = None
        # only a file we never saw (a reused inode included: a copy often takes the inode
        # the previous copy freed) can be a copy in the making; a known one (a rotated file
        # found again after a restart) must not wait: nothing would look for it again
        if rec is None and not initial and self._looks_like_copy(path, fd, key):
            os.close(fd)
            return None
        start = self.finished.pop(key, None)
        if rec is not None and (st.st_size < rec.offset or (
                rec.offset and rec.tail_hash and fingerprint.tail_hash(fd, rec.offset) != rec.tail_hash)):
            self._recover_from_copy(rec, path)
            rec = None
            start = 0  # its new content is read from the start, whatever start_at says
        elif rec is None:
            # start_at is for files we never saw; a position remembered for this inode
            # belonged to a file that is gone
            start = st.st_size if initial and self.cfg.start_at == "end" else 0
        if rec is None:
            assert start is not None
            rec = FileCheckpoint(st.st_dev, st.st_ino, fp_len, fp, start, path, self.name,
                                 tail_hash=fingerprint.tail_hash(fd, start), updated=time.time(),
                                 size=st.st_size)
        else:
            self.store.update(rec, path=path, size=st.st_size)
        self.store.put(rec)
        t = Tailer(self.name, path, fd, st, rec, self.store, self.cfg.max_line_bytes,
                   self.cfg.priority, self.cfg.multiline, offsets=self.ids)
        if start is not None and start > rec.offset:
            t.pos = t.emitted = start
            t.emitted_tail = fingerprint.tail_hash(fd, start)
        if rotated:
            t.state = State.ROTATED
            t.rotated_at = time.monotonic()
        self.tailers[key] = t
        self.deferred.pop(path, None)
        log.info("watching file", source=self.name, path=path, offset=t.pos)
        return t

    def _lose(self, path: str, nbytes: int, reason: str) -> None:
        if nbytes <= 0:
            return
        self.stats.lost[reason] = self.stats.lost.get(reason, 0) + nbytes
        log.warning("bytes lost", source=self.name, path=path, reason=reason, bytes=nbytes)

    # -- housekeeping ------------------------------------------------------------------
    def _slot(self) -> bool:
        """Room for one more open file, closing the longest-idle caught-up file if needed."""
        if sum(1 for t in self.tailers.values() if t.fd is not None) < self.budget:
            return True
        idle = [t for t in self.tailers.values()
                if t.fd is not None and t.state is State.EOF and not t.entry_due and not t.fmt]
        if not idle:
            return False
        min(idle, key=lambda t: t.last_read).suspend()
        return True

    def _retire(self, t: Tailer) -> None:
        """Close a tailer; remember how far it handed lines out until that is acknowledged.

        A rotated or deleted file will not be written again: its unterminated last line is
        delivered now, like `--once` does."""
        deleted = t.state is State.DELETED
        if t.fd is not None and t.state in (State.ROTATED, State.DELETED):
            batch = t.flush_partial(self.stats)
            if batch is not None:
                self._offer(batch)
        # how far it was handed out, until acknowledged: not read again by whatever reads
        # this identity next (its archive, or the file found again after a restart)
        self.finished[t.key] = t.emitted
        t.close()
        self.tailers.pop(t.key, None)
        if deleted:
            # kept a while (RETENTION) for an archive made of it to continue, marked gone: a
            # new file that reuses the inode is not taken for it (see `_adopt`)
            self.store.update(t.record, gone_since=time.time())

    def _prune(self) -> None:
        now = time.time()
        for key, pos in list(self.finished.items()):
            rec = self.store.get(key)
            if rec is None or rec.offset >= pos:
                del self.finished[key]
        check_archives = now >= self._next_archive_check
        if check_archives:
            self._next_archive_check = now + ARCHIVE_CHECK
        for rec in self.store.records():
            if rec.source != self.name:
                continue
            if rec.gone_since and now - rec.gone_since > RETENTION:
                self.store.remove(rec)
            elif check_archives and rec.fmt and not rec.gone_since and rec.key not in self.tailers:
                # an archive read earlier: once deleted (logrotate's `rotate N`), its
                # checkpoint goes after RETENTION like any file's
                try:
                    here = fingerprint.file_key(os.stat(rec.path)) == rec.key
                except OSError:
                    here = False
                if not here:
                    self.store.update(rec, gone_since=now)

    def _fail(self, path: str, what: str, exc: OSError) -> None:
        cause = f"{what}: {exc.strerror or exc}"
        if self.failed.get(path) != cause:
            self.failed[path] = cause
            log.error(what, source=self.name, path=path, error=exc.strerror or str(exc))
