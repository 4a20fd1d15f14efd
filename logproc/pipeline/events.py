"""Filesystem events as wake-up hints for the sources.

One watchdog observer (inotify on Linux) watches each folder a source asks for
(`Source.folders()`: the folders a file source's globs can match in). Any event in a
folder wakes the sources that watch it; they then rescan and read.
Events are never trusted to be complete: inotify queues overflow, and some filesystems
send nothing, so each source also runs a periodic stat pass on its own. An overflow
(watchdog's `EventsLostEvent`) is counted (`events_lost`, shared by every observer of the
process: `logproc_watch_events_lost_total`), wakes every source at once, and is logged as
one warning per `OVERFLOW_LOG_INTERVAL` (watchdog's own line for it is dropped: this one
says what happens next).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from typing import Any

from watchdog.events import EventsLostEvent, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from logproc.log import get_logger
from logproc.sources.base import Source

log = get_logger("watch")

OVERFLOW_LOG_INTERVAL = 60.0


class _Overflows:
    """Overflows seen by this process's folder observers (read by the metrics collector)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._logged_at = -OVERFLOW_LOG_INTERVAL
        self._unlogged = 0

    def seen(self, where: str) -> None:
        with self._lock:
            self.count += 1
            self._unlogged += 1
            now = time.monotonic()
            if now - self._logged_at < OVERFLOW_LOG_INTERVAL:
                return
            n, self._unlogged, self._logged_at = self._unlogged, 0, now
        log.warning("inotify queue overflowed, file events were lost; every source rescans its "
                    "files now (the periodic stat pass finds whatever events missed)", folder=where,
                    overflows=n, total=self.count)


events_lost = _Overflows()


class _DropOverflowLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Inotify queue overflowed")


logging.getLogger("watchdog.observers.inotify_c").addFilter(_DropOverflowLine())


class _Waker(FileSystemEventHandler):
    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, EventsLostEvent):
            events_lost.seen(os.fsdecode(event.src_path))
        for s in self.sources:
            s.wake.set()


class FolderEvents:
    def __init__(self, sources: list[Source]) -> None:
        by_dir: dict[str, list[Source]] = defaultdict(list)
        self.recursive: dict[str, bool] = {}
        for s in sources:
            for d, deeper in s.folders().items():
                by_dir[d].append(s)
                self.recursive[d] = self.recursive.get(d, False) or deeper
        self.by_dir = dict(by_dir)
        self.observer: Any = None

    def start(self) -> None:
        if os.environ.get("LOGPROC_EVENTS") == "off":  # test seam (logproc.testing): stat passes only
            log.info("file events disabled (LOGPROC_EVENTS=off); the stat pass finds changes")
            return
        self.observer = Observer()
        for d, sources in self.by_dir.items():
            if not os.path.isdir(d):
                continue  # appears later: the stat pass finds its files
            try:
                # recursive for `logs/**/*.log` (new subfolders too); inotify watches each
                # subfolder, within fs.inotify.max_user_watches (the stat pass covers the rest)
                self.observer.schedule(_Waker(sources), d, recursive=self.recursive.get(d, False))
            except OSError as exc:
                log.warning("cannot watch folder; relying on the stat pass", path=d, error=str(exc))
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(2.0)
