"""The consumers' gate (see `Gate`)."""

from __future__ import annotations

import threading


class Gate:
    """Lets consumers between the queue and the sinks, or holds them out (reload).

    A consumer `enter`s before taking a batch and `exit`s once the batch is handed to its
    sinks. `close(timeout)` stops new entries and waits until nobody is inside: then no
    batch is between the queue and the sinks, and sinks and routes can be swapped.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = True
        self._inside = 0

    def enter(self, timeout: float) -> bool:
        with self._cond:
            if not self._cond.wait_for(lambda: self._open, timeout):
                return False
            self._inside += 1
            return True

    def exit(self) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()

    def close(self, timeout: float) -> bool:
        """Hold consumers out; True once none is inside (False on timeout, still closed)."""
        with self._cond:
            self._open = False
            return self._cond.wait_for(lambda: self._inside == 0, timeout)

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()
