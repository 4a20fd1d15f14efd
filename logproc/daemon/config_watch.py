"""`watch_config = true`: an edit of the config file asks for a reload, like SIGHUP.

Editors save in different ways: in place (modify), or by writing a temporary file and
renaming it over the config (vim, VS Code, `sed -i`, most config managers), which
replaces the inode. So the watcher looks at the config's *folder* and reacts to any event
that names the config file (modified, created, moved to); it then waits until the file
has been quiet for `SETTLE` seconds (a save is several events) and posts a reload only if
the content differs from what was last loaded (a `touch` or a save without changes does
nothing). A symlinked config is watched where the link is.

Posting goes through the supervisor's signal receiver: the watcher thread never acts.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from logproc.log import get_logger

log = get_logger("config")

SETTLE = 0.2  # seconds without events before the file is read


def _digest(path: Path) -> str | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None


class ConfigWatcher(FileSystemEventHandler):
    def __init__(self, path: Path, post: Callable[[], None]) -> None:
        self.path = Path(path)
        self.post = post
        self._loaded = _digest(self.path)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer: Any = None

    def start(self) -> None:
        observer = Observer()
        try:
            observer.schedule(self, str(self.path.parent), recursive=False)
        except OSError as exc:
            # inotify instances or watches used up (fs.inotify.max_user_instances): the
            # daemon runs on; only edits go unnoticed
            log.warning("cannot watch the config file for edits; reload with SIGHUP",
                        path=str(self.path), error=str(exc))
            return
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(2.0)

    def digest(self) -> str | None:
        """The config file's content digest now (taken just before it is loaded)."""
        return _digest(self.path)

    def remember(self, digest: str | None) -> None:
        """The content with this digest was (re)loaded or refused: only another one counts
        as a change (an edit made during the reload still does)."""
        self._loaded = digest

    def on_any_event(self, event: FileSystemEvent) -> None:
        names = {os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")}
        if str(self.path) not in names:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(SETTLE, self._settled)
            self._timer.daemon = True
            self._timer.start()

    def _settled(self) -> None:
        digest = _digest(self.path)
        if digest is None or digest == self._loaded:
            return  # gone for a moment mid-save (the next event follows), or unchanged
        log.info("config file changed; reloading", path=str(self.path))
        self.post()
