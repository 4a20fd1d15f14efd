"""Filesystem events as wake-up hints for the source watchers.

One watchdog observer (inotify on Linux) watches each folder a source's globs can match
in. Any event in a folder wakes the sources that watch it; they then rescan and read.
Events are never trusted to be complete: inotify queues overflow, and some filesystems
send nothing, so each source also runs a periodic stat pass on its own.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from logproc.log import get_logger
from logproc.sources.discovery import watch_dirs
from logproc.sources.file import FileSource

log = get_logger("watch")


class _Waker(FileSystemEventHandler):
    def __init__(self, sources: list[FileSource]) -> None:
        self.sources = sources

    def on_any_event(self, event: FileSystemEvent) -> None:
        for s in self.sources:
            s.wake.set()


class EventWatcher:
    def __init__(self, sources: list[FileSource]) -> None:
        by_dir: dict[str, list[FileSource]] = defaultdict(list)
        for s in sources:
            for d in watch_dirs(list(s.cfg.paths)):
                by_dir[d].append(s)
        self.by_dir = dict(by_dir)
        self.observer: Any = None

    def start(self) -> None:
        self.observer = Observer()
        for d, sources in self.by_dir.items():
            if not os.path.isdir(d):
                continue  # appears later: the stat pass finds its files
            try:
                self.observer.schedule(_Waker(sources), d, recursive=False)
            except OSError as exc:
                log.warning("cannot watch folder; relying on the stat pass", path=d, error=str(exc))
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(2.0)
