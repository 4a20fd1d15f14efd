"""The committer: deferred light commits, and durable ones on a timer.

Checkpoints reach disk in two ways (see `CheckpointStore`):
- *light* commits (no fsync) by the sink threads right after they acknowledge a write, so
  a crash of the process re-sends only what was acknowledged since the last write; when
  one comes too soon after a costly one (many files), it is deferred to this thread,
  which makes it as soon as the cost budget allows;
- *durable* commits (fsync of the file and its folder) by this thread every
  `checkpoint_interval` seconds while anything changed or sits unsynced, and the final
  one at shutdown (by the supervisor).

Decision: an fsync per acknowledgement would cost a disk flush per batch; without fsync
the rename is still atomic and the page cache survives everything but a machine crash,
for which the periodic durable commit bounds the replay.
"""

from __future__ import annotations

import threading
import time

from logproc.checkpoints import CheckpointStore
from logproc.log import get_logger

log = get_logger("checkpoints")


class Committer:
    def __init__(self, store: CheckpointStore, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self.failures = 0
        self.thread = threading.Thread(target=self._run, name="committer", daemon=False)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop committing; the caller makes the final durable commit itself."""
        self._stop.set()
        self.store.changed.set()
        self.thread.join(5)

    def _run(self) -> None:
        store = self.store
        next_durable = time.monotonic() + self.interval
        while True:
            now = time.monotonic()
            timeout = next_durable - now
            if store.changed.is_set():
                timeout = min(timeout, store.next_light - now)
            if timeout > 0 and store.changed.is_set():
                self._stop.wait(timeout)  # a deferred light commit: wait out its cost budget
            elif timeout > 0:
                store.changed.wait(timeout)
            if self._stop.is_set():
                return
            now = time.monotonic()
            if now >= next_durable:
                store.changed.clear()
                if store.dirty or store.unsynced:
                    self._commit(durable=True)
                next_durable = now + self.interval
            elif store.changed.is_set() and now >= store.next_light:
                store.changed.clear()
                if store.dirty:
                    self._commit(durable=False)

    def _commit(self, durable: bool) -> None:
        try:
            t0 = time.monotonic()
            self.store.commit(force=durable, durable=durable)
            if not durable:
                self.store.next_light = time.monotonic() + 4 * (time.monotonic() - t0)
        except OSError as exc:
            self.failures += 1
            log.error("checkpoint commit failed", error=str(exc), path=str(self.store.path))
