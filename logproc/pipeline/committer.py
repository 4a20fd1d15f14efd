"""The committer: durable checkpoint commits on a timer.

Checkpoints reach disk in two ways (see `CheckpointStore`):
- *light* commits (no fsync) by the sink threads right after they acknowledge a write, so
  a crash of the process re-sends only the write in progress;
- *durable* commits (fsync of the file and its folder) by this thread every
  `checkpoint_interval` seconds while anything changed or sits unsynced, and the final
  one at shutdown (by the supervisor).

Decision: an fsync per acknowledgement would cost a disk flush per batch; without fsync
the rename is still atomic and the page cache survives everything but a machine crash,
for which the periodic durable commit bounds the replay.
"""

from __future__ import annotations

import threading

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
        self.thread.join(5)

    def _run(self) -> None:
        store = self.store
        while not self._stop.wait(self.interval):
            if store.dirty or store.unsynced:
                try:
                    store.commit(force=True, durable=True)
                except OSError as exc:
                    self.failures += 1
                    log.error("checkpoint commit failed", error=str(exc), path=str(store.path))
