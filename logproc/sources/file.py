"""The `file` source: one watcher thread tails every file a source's globs match.

The thread alternates two duties:
- *discovery* (`rescan`): expand the globs, open a tailer for each new file identity, and
  look at every tailer's file (rotation, truncation, deletion). It runs every
  `STAT_INTERVAL` seconds — the guarantee — and sooner when a filesystem event hints that
  something changed (watchdog events are only wake-ups: inotify can overflow);
- *reading*: one chunk per file per round, round-robin, so a busy file cannot starve a
  quiet one; each chunk's complete lines become one batch put on the queue. A full queue
  makes the thread wait; the lines stay in their files.

Start-up: a file with a checkpoint whose fingerprint still matches resumes at its offset; a
file present at start-up with no checkpoint starts at its beginning or its end
(`start_at`); files that appear later are read from their start.
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
from logproc.sources import fingerprint
from logproc.sources.discovery import match_files
from logproc.sources.tailer import ReadStats, State, Tailer, open_file

if TYPE_CHECKING:
    from logproc.config.schema import SourceConfig

STAT_INTERVAL = 1.0  # seconds between guaranteed stat passes
ROTATE_WAIT = 5.0  # seconds a rotated-away file stays open for late writers

log = get_logger("source")


class FileSource:
    """Discovery plus one tailer per live file, for one configured source."""

    def __init__(self, name: str, cfg: SourceConfig, queue: BatchQueue, store: CheckpointStore,
                 once: bool = False) -> None:
        self.name = name
        self.cfg = cfg
        self.queue = queue
        self.store = store
        self.once = once
        self.stats = ReadStats()
        self.tailers: dict[str, Tailer] = {}  # key -> tailer
        self.failed: dict[str, str] = {}  # path -> last error logged (log once per cause)
        self.read_errors = 0  # files that could not be read (`--once` exits 1)
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._started = False
        self.watching = threading.Event()  # set once the first discovery pass is done
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
        return sum(1 for t in self.tailers.values() if t.fd is not None)

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
                t.close()

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
        for t in list(self.tailers.values()):
            while not self._stop.is_set():
                try:
                    batch = t.read(self.stats)
                except OSError as exc:
                    self.read_errors += 1
                    self._fail(t.path, "cannot read file", exc)
                    break
                if batch is None:
                    if t.state in (State.EOF, State.CLOSED):
                        break
                    continue
                self.queue.put(batch)
            if self._stop.is_set():
                return
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
            except OSError as exc:
                self._fail(t.path, "cannot read file", exc)
                t.close()
                continue
            if batch is not None:
                self.queue.put(batch)
                progressed = True
        return progressed

    # -- discovery and the stat pass ---------------------------------------------------
    def _rescan(self, initial: bool = False) -> None:
        """Open new matches, re-home renamed ones, and check every tailer's file."""
        now = time.monotonic()
        for t in list(self.tailers.values()):
            if t.fd is None:
                continue
            try:
                state = t.check()
            except OSError as exc:
                self._fail(t.path, "cannot stat file", exc)
                continue
            if state is State.READING or (state is State.EOF and t.pos < t.size):
                t.state = State.READING
            if state in (State.ROTATED, State.DELETED) and t.pos >= t.size:
                done_waiting = state is State.DELETED or now - t.rotated_at >= ROTATE_WAIT
                if done_waiting:
                    log.info("file released", source=self.name, path=t.path, state=state.value)
                    t.close()
                    if state is State.DELETED:
                        self.tailers.pop(t.key, None)
                        self._forget_when_delivered(t)
        for path in match_files(self.cfg.paths, self.cfg.exclude):
            try:
                st = os.stat(path)
            except OSError:
                continue
            key = fingerprint.file_key(st)
            known = self.tailers.get(key)
            if known is not None:
                if known.path != path and known.state is State.ROTATED:
                    known.path = path  # rotated to a name the globs match: follow it there
                    known.state = State.READING
                    self.store.update(known.record, path=path)
                continue
            self._open(path, initial)

    def _open(self, path: str, initial: bool) -> None:
        try:
            fd, st = open_file(path)
        except OSError as exc:
            self.read_errors += 1 if path not in self.failed else 0
            self._fail(path, "cannot open file", exc)
            return
        self.failed.pop(path, None)
        key = fingerprint.file_key(st)
        rec = self.store.get(key)
        start = 0
        if rec is not None and rec.fp_len and not fingerprint.matches(fd, rec.fp_len, rec.fp):
            log.info("inode reused by a new file", source=self.name, path=path, previous=rec.path)
            rec = None
        if rec is not None and st.st_size < rec.offset:
            log.warning("file shorter than its checkpoint: truncated while stopped, reading from start",
                        source=self.name, path=path, offset=rec.offset, size=st.st_size)
            rec.offset = 0
        if rec is None:
            if initial and self.cfg.start_at == "end":
                start = st.st_size
            fp_len, fp = fingerprint.head(fd, st.st_size)
            rec = FileCheckpoint(st.st_dev, st.st_ino, fp_len, fp, start, path, self.name,
                                 updated=time.time())
        else:
            rec.path = path
            rec.source = self.name
        self.store.put(rec)
        tailer = Tailer(self.name, path, fd, st, rec, self.store, self.cfg.max_line_bytes,
                        self.cfg.priority)
        self.tailers[key] = tailer
        log.info("watching file", source=self.name, path=path, offset=rec.offset)

    def _forget_when_delivered(self, t: Tailer) -> None:
        """A deleted file's record goes once everything read from it is delivered."""
        if t.record.offset >= t.emitted:
            self.store.remove(t.key)

    def _fail(self, path: str, what: str, exc: OSError) -> None:
        cause = f"{what}: {exc.strerror or exc}"
        if self.failed.get(path) != cause:
            self.failed[path] = cause
            log.error(what, source=self.name, path=path, error=exc.strerror or str(exc))
