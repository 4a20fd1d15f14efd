"""Signal handling: handlers only record; the supervisor loop acts.

A handler appends a `Control` to a deque (an atomic operation) and writes one byte to a
pipe the supervisor waits on, so nothing that takes a lock ever runs inside a handler
(a handler interrupting the main thread while it holds a queue's lock cannot deadlock).
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import signal
from collections import deque
from types import FrameType


class Control(enum.Enum):
    SHUTDOWN = "shutdown"  # SIGTERM, SIGINT
    RELOAD = "reload"  # SIGHUP
    REOPEN = "reopen"  # SIGUSR1


_BY_SIGNAL = {signal.SIGTERM: Control.SHUTDOWN, signal.SIGINT: Control.SHUTDOWN,
              signal.SIGHUP: Control.RELOAD, signal.SIGUSR1: Control.REOPEN}


class SignalReceiver:
    def __init__(self) -> None:
        self._pending: deque[tuple[Control, int]] = deque()
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.installed = False

    def install(self) -> None:
        for signum in _BY_SIGNAL:
            signal.signal(signum, self._handle)
        self.installed = True

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self._pending.append((_BY_SIGNAL[signal.Signals(signum)], signum))
        with contextlib.suppress(BlockingIOError):  # the pipe is full of wake-ups already
            os.write(self._w, b"!")

    def post(self, control: Control) -> None:
        """Record a control from a thread (e.g. the config watcher)."""
        self._pending.append((control, 0))
        with contextlib.suppress(BlockingIOError):
            os.write(self._w, b"!")

    def wait(self, timeout: float) -> list[tuple[Control, int]]:
        """Wait up to `timeout` s; return the controls recorded so far, oldest first."""
        if not self._pending:
            with contextlib.suppress(InterruptedError):
                select.select([self._r], [], [], max(0.0, timeout))
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass
        out = []
        while self._pending:
            out.append(self._pending.popleft())
        return out
