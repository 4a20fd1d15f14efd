"""The `file` source: one watcher thread tails every file a source's globs match.

The thread alternates two duties:
- *discovery and the stat pass* (`rescan`): look at every tailer's file (growth, rotation,
  truncation, deletion), expand the globs and open new file identities. It runs every
  `STAT_INTERVAL` seconds — the guarantee — and sooner when a filesystem event hints that
  something changed (watchdog events are only wake-ups: inotify can overflow);
- *reading*: one chunk per file per round, round-robin, so a busy file cannot starve a
  quiet one; each chunk's complete lines become one batch on the queue. A full queue
  makes the thread wait; the lines stay in their files.

Identity and recovery (see `identity` and the SPEC's Delivery section): a file with a
checkpoint whose fingerprint and tail hash still match resumes at its offset; one that
shrank or was rewritten is read again from its start, after its copy (copytruncate) — if
one is found beside it — supplied what was not read yet; a checkpointed file no longer at
its path is looked for by inode in its folder and read to its end; rotated generations
that appeared unseen are read too. Loss is counted, never silent: `lost["truncated"]`
(truncated with no copy) and `lost["gone"]` (deleted before it was read).

Descriptors: at most `budget` files are open; an idle file is closed (SUSPENDED) to make
room and reopened by identity when it grows.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.errors import QueueClosed
from logproc.log import get_logger
from logproc.queue import BatchQueue
from logproc.sources import fingerprint, identity
from logproc.sources.discovery import match_files
from logproc.sources.tailer import ROTATE_WAIT, ReadStats, State, Tailer, open_file

if TYPE_CHECKING:
    from logproc.config.schema import SourceConfig

STAT_INTERVAL = 1.0  # seconds between guaranteed stat passes
RETENTION = 24 * 3600.0  # seconds a checkpoint outlives its vanished file

log = get_logger("source")


class FileSource:
    """Discovery plus one tailer per live file, for one configured source."""

    def __init__(self, name: str, cfg: SourceConfig, queue: BatchQueue, store: CheckpointStore,
                 once: bool = False, budget: int = 1024) -> None:
        self.name = name
        self.cfg = cfg
        self.queue = queue
        self.store = store
        self.once = once
        self.budget = max(4, budget)
        self.stats = ReadStats()
        self.tailers: dict[str, Tailer] = {}  # key ("dev:ino") -> tailer
        self.finished: dict[str, int] = {}  # key -> position read to, of tailers closed while
        # their last batches may still be unacknowledged (so a rediscovery does not re-read)
        self.deferred: dict[str, float] = {}  # path -> first seen, for files that look like a copy
        self.skipped: set[str] = set()  # keys never to read (gzip)
        self.failed: dict[str, str] = {}  # path -> last error logged (log once per cause)
        self.read_errors = 0  # files that could not be read (`--once` exits 1)
        self.wake = threading.Event()
        self._stop = threading.Event()
        self.watching = threading.Event()  # set once the first discovery pass is done
        self.started_wall = time.time()
        self.thread = threading.Thread(target=self._run, name=f"source-{name}", daemon=False)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop reading soon; what was read but not queued stays unacknowledged in the file."""
        self._stop.set()
        self.wake.set()

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def files_watched(self) -> int:
        return sum(1 for t in self.tailers.values() if t.state is not State.CLOSED)

    @property
    def open_files(self) -> int:
        return sum(1 for t in self.tailers.values() if t.fd is not None)

    @property
    def pinned_bytes(self) -> int:
        """Bytes of deleted files kept alive by our open descriptors."""
        return sum(t.size for t in self.tailers.values() if t.state is State.DELETED and t.fd is not None)

    def checkpoint_lag(self) -> dict[str, int]:
        """Per file: bytes on disk not yet acknowledged (size - delivered offset)."""
        return {t.path: max(0, t.size - t.record.offset) for t in list(self.tailers.values())}

    # -- the watcher loop --------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._rescan(initial=True)
            self.watching.set()
            if self.once:
                self._read_all_once()
            else:
                self._follow()
        except QueueClosed:
            pass
        except Exception:
            log.exception("source watcher failed", source=self.name)
            raise
        finally:
            self.watching.set()
            for t in self.tailers.values():
                if t.fd is not None:
                    os.close(t.fd)
                    t.fd = None

    def _follow(self) -> None:
        next_scan = time.monotonic() + STAT_INTERVAL
        while not self._stop.is_set():
            progressed = self._read_round()
            now = time.monotonic()
            if now >= next_scan:
                self._rescan()
                next_scan = now + STAT_INTERVAL
            elif not progressed:
                self.wake.wait(max(0.0, next_scan - now))
                if self.wake.is_set():
                    self.wake.clear()
                    self._rescan()

    def _read_all_once(self) -> None:
        """Read every matched file to its end, a budget's worth of files at a time."""
        while not self._stop.is_set():
            todo = [t for t in self.tailers.values() if t.fd is not None]
            if not todo:
                return
            for t in todo:
                self._drain_once(t)
                if t.compressed:
                    self._skip_compressed(t)
                    continue
                self.finished[t.key] = t.pos
                t.close()
                del self.tailers[t.key]
                if self._stop.is_set():
                    return
            self._rescan()

    def _drain_once(self, t: Tailer) -> None:
        while not self._stop.is_set():
            try:
                batch = t.read(self.stats)
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
            elif t.compressed or t.state is not State.READING:
                break
        batch = t.flush_partial(self.stats)
        if batch is not None:
            self.queue.put(batch)

    def _read_round(self) -> bool:
        """One chunk from every tailer with data; True when anything was read."""
        progressed = False
        for t in list(self.tailers.values()):
            if self._stop.is_set():
                break
            if t.fd is None or t.state is State.EOF:
                continue
            try:
                batch = t.read(self.stats)
                if t.replaced:
                    t.replaced = False
                    self._truncated(t)
                    continue
            except OSError as exc:
                self._fail(t.path, "cannot read file", exc)
                self._retire(t)
                continue
            if batch is not None:
                self.queue.put(batch)
                progressed = True
            elif t.compressed:
                self._skip_compressed(t)
        return progressed

    def _skip_compressed(self, t: Tailer) -> None:
        log.info("compressed file not read", source=self.name, path=t.path)
        self.skipped.add(t.key)
        t.close()
        self.tailers.pop(t.key, None)
        self.store.remove(t.record)

    # -- discovery and the stat pass ---------------------------------------------------
    def _rescan(self, initial: bool = False) -> None:
        for t in list(self.tailers.values()):
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
            if key in self.skipped:
                continue
            self._discover(path, st, initial)
        if initial:
            self._reconcile(set(matched))
        if not self.once:
            self._prune()

    def _look_at(self, t: Tailer) -> None:
        """One tailer's part of the stat pass."""
        if t.state is State.SUSPENDED:
            self._look_at_suspended(t)
            return
        was = t.state
        state, truncated = t.check()
        t.record.size = t.size  # for loss accounting if the file vanishes while we are away
        if truncated:
            self._truncated(t)
            return
        if state is State.ROTATED and was is not State.ROTATED:
            log.info("file rotated", source=self.name, path=t.path)
            t.rotated_from = t.path
        if t.done_waiting:
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
            self._lose(t.path, max(0, t.size - t.pos), "gone")
            self.tailers.pop(t.key, None)
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
        if st.st_size >= 2 and identity.is_gzip(fd):
            os.close(fd)
            self.skipped.add(key)
            log.info("compressed file not read", source=self.name, path=path)
            return None
        fp_len, fp = fingerprint.head(fd, st.st_size)
        rec = self.store.get(key)
        if rec is not None and rec.source != self.name:
            rec = None
        # only a file we never saw can be a copy in the making; a known one (a rotated file
        # found again after a restart) must not wait: nothing would look for it again
        if rec is None and not initial and self._looks_like_copy(path, fd, key):
            os.close(fd)
            return None
        if rec is not None and not fingerprint.matches(fd, rec.fp_len, rec.fp):
            # other first bytes under a known inode: truncated and rewritten while we were
            # away (its copy may hold the rest), or the inode was reused by a new file
            log.info("file has new content under a known inode", source=self.name, path=path,
                     previous=rec.path)
            self._recover_from_copy(rec, path)
            rec = None
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
        t = Tailer(self.name, path, fd, st, rec, self.store, self.cfg.max_line_bytes, self.cfg.priority)
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

    def _looks_like_copy(self, path: str, fd: int, key: str) -> bool:
        """A new file that starts like one we tail may be a copytruncate copy in the making:
        wait up to ROTATE_WAIT for the truncation that tells, instead of reading it twice.
        (Two unrelated files with the same first bytes are both read, the second 5 s late;
        a new empty file is read once it has content.)"""
        if self._copy_of_tailed(fd, key):
            first = self.deferred.setdefault(path, time.monotonic())
            return time.monotonic() - first < ROTATE_WAIT
        self.deferred.pop(path, None)
        return False

    def _copy_of_tailed(self, fd: int, key: str) -> bool:
        """Could this file be a copy of a tailed file, made but not yet truncated?

        An empty file could be one that `cp` just created. Otherwise its first n bytes
        (n = min(size, FP_BYTES)) must equal a tailed file's: all covered by that file's
        fingerprint, or, when its fingerprint is shorter (it has grown since), compared
        with the tailed file itself. A fingerprint of a few bytes alone proves nothing:
        every line may start with the same timestamp or `seq=`. (Limit: a copy caught
        part-written, shorter than the fingerprint, is not recognised; `cp` writes the
        first block in one call, so that window is tiny.)"""
        known = [t for t in self.tailers.values() if t.key != key and t.record.fp_len]
        head = os.pread(fd, fingerprint.FP_BYTES, 0)
        if not head:
            return any(t.fd is not None for t in known)
        n = len(head)
        digests: dict[int, str] = {}
        for t in known:
            fp_len = t.record.fp_len
            if fp_len > n:
                continue
            d = digests.get(fp_len)
            if d is None:
                d = digests[fp_len] = fingerprint.digest(head[:fp_len])
            if d == t.record.fp and (fp_len == n or (t.fd is not None and os.pread(t.fd, n, 0) == head)):
                return True
        return False

    # -- faults ------------------------------------------------------------------------
    def _truncated(self, t: Tailer) -> None:
        """`t`'s file shrank or was rewritten under it: finish from a copy, or count the loss."""
        old_key = t.key
        copy = identity.find_copy(os.path.dirname(t.path), t.record.fp_len, t.record.fp, t.emitted,
                                  t.emitted_tail, exclude={old_key} | set(self.tailers))
        fresh = FileCheckpoint(t.dev, t.ino, 0, fingerprint.digest(b""), 0, t.path, self.name,
                               updated=time.time())
        if copy is not None and t.fd is not None:
            cpath, cfd, cst = copy
            log.info("copytruncate detected; reading the rest from the copy", source=self.name,
                     path=t.path, copy=cpath, offset=t.emitted)
            new = Tailer(self.name, t.path, os.dup(t.fd), os.fstat(t.fd), fresh, self.store,
                         self.cfg.max_line_bytes, self.cfg.priority)
            t.switch_to(cpath, cfd, cst)
            self.deferred.pop(cpath, None)
            del self.tailers[old_key]
            self.tailers[t.key] = t
            self.tailers[old_key] = new
        else:
            lost = max(t.seen_size, t.pos) - t.emitted
            self._lose(t.path, lost, "truncated")
            log.warning("file truncated; reading it again from the start", source=self.name, path=t.path)
            t.restart(fresh)
        self.store.put(fresh)

    def _recover_from_copy(self, rec: FileCheckpoint, path: str) -> None:
        """At start-up, `rec`'s file was truncated or rewritten while we were stopped: read
        what it held past the checkpoint from its copy, if one is beside it."""
        exclude = {rec.key} | set(self.tailers)
        copy = identity.find_copy(os.path.dirname(path), rec.fp_len, rec.fp, rec.offset, rec.tail_hash,
                                  exclude) if rec.offset else None
        if copy is None:
            lost = max(0, rec.size - rec.offset)
            if lost:
                self._lose(path, lost, "truncated")
            log.warning("file truncated or rewritten while stopped; reading it from the start",
                        source=self.name, path=path, offset=rec.offset)
            self.store.remove(rec)
            return
        cpath, cfd, cst = copy
        log.info("copytruncate happened while stopped; reading the rest from the copy",
                 source=self.name, path=path, copy=cpath, offset=rec.offset)
        self.store.update(rec, dev=cst.st_dev, ino=cst.st_ino, path=cpath)
        t = Tailer(self.name, cpath, cfd, cst, rec, self.store, self.cfg.max_line_bytes, self.cfg.priority)
        t.state = State.ROTATED
        t.rotated_at = time.monotonic() - ROTATE_WAIT
        self.tailers[t.key] = t

    def _reconcile(self, matched: set[str]) -> None:
        """At start-up: checkpointed files of this source that are not where they were.

        Every record is found again (and its truncation or copy resolved) before any
        generation is read as a new file: otherwise a copytruncate copy made while we were
        stopped could be taken for a new generation and read from its start, before the
        record that knows how far it was read claims it."""
        moved: list[tuple[str, float]] = []
        for rec in self.store.records():
            if rec.source != self.name or rec.key in self.tailers:
                continue
            try:
                at_path = os.stat(rec.path)
            except OSError:
                at_path = None
            if at_path is not None and fingerprint.file_key(at_path) == rec.key:
                # still where we last saw it, outside the globs: a rotated file or a copy
                # we were reading when we stopped; read it to its end
                if rec.path not in matched and at_path.st_size > rec.offset:
                    log.info("finishing a rotated file", source=self.name, path=rec.path)
                    self._discover(rec.path, at_path, initial=False, rotated=True)
                continue
            was, since = rec.path, rec.updated  # (discovery below moves rec.path)
            moved.append((was, since))
            path = identity.find_by_inode(os.path.dirname(was), rec.dev, rec.ino)
            if path is not None and path not in matched:
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                log.info("found rotated file by inode", source=self.name, was=was, path=path)
                self._discover(path, st, initial=False, rotated=True)
            elif path is None and not rec.gone_since:
                self._lose(was, max(0, rec.size - rec.offset), "gone")
                self.store.update(rec, gone_since=time.time())
        for was, since in moved:
            self._find_generations(was, since)

    def _find_generations(self, path: str, since: float) -> None:
        """Rotated generations of `path` that appeared unseen: read them (from their
        checkpoint if they have one, else from the start)."""
        for gpath, st in identity.generations(path, since):
            key = fingerprint.file_key(st)
            if key in self.tailers or key in self.skipped:
                continue
            log.info("found rotated generation", source=self.name, path=gpath)
            self._discover(gpath, st, initial=False, rotated=True)

    def _lose(self, path: str, nbytes: int, reason: str) -> None:
        if nbytes <= 0:
            return
        self.stats.lost[reason] = self.stats.lost.get(reason, 0) + nbytes
        log.warning("bytes lost", source=self.name, path=path, reason=reason, bytes=nbytes)

    # -- housekeeping ------------------------------------------------------------------
    def _slot(self) -> bool:
        """Room for one more open file, closing the longest-idle caught-up file if needed."""
        if self.open_files < self.budget:
            return True
        idle = [t for t in self.tailers.values() if t.fd is not None and t.state is State.EOF]
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
                self.queue.put(batch)
        if not deleted:  # a deleted file's inode may come back as another file
            self.finished[t.key] = t.emitted
        t.close()
        self.tailers.pop(t.key, None)
        if deleted:
            self.store.remove(t.record)

    def _prune(self) -> None:
        now = time.time()
        for key, pos in list(self.finished.items()):
            rec = self.store.get(key)
            if rec is None or rec.offset >= pos:
                del self.finished[key]
        for rec in self.store.records():
            if rec.source == self.name and rec.gone_since and now - rec.gone_since > RETENTION:
                self.store.remove(rec)

    def _fail(self, path: str, what: str, exc: OSError) -> None:
        cause = f"{what}: {exc.strerror or exc}"
        if self.failed.get(path) != cause:
            self.failed[path] = cause
            log.error(what, source=self.name, path=path, error=exc.strerror or str(exc))
