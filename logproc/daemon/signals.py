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
        # poll, not select: select refuses descriptors >= 1024, which a daemon holding many
        # files (or a process that built many receivers, as the tests do) reaches
        self._poll = select.poll()
        self._poll.register(self._r, select.POLLIN)
        self.installed = False

    def install(self) -> None:
        for signum in _BY_SIGNAL:
            signal.signal(signum, self._handle)
        self.installed = True

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self._pending.append((_BY_SIGNAL[signal.Signals(signum)], signum))
        with contextlib.suppress(BlockingIOError, OSError):  # full of wake-ups already; closed
            os.write(self._w, b"!")

    def post(self, control: Control) -> None:
        """Record a control from a thread (e.g. the config watcher)."""
        self._pending.append((control, 0))
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"!")

    def close(self) -> None:
        """Release the wake-up pipe (the supervisor stopped). Idempotent; a signal that
        arrives later is still recorded, `wait` then only returns what was recorded."""
        fds, self._r, self._w = (self._r, self._w), -1, -1
        if fds[0] >= 0:
            self._poll.unregister(fds[0])
            for fd in fds:
                os.close(fd)

    def wait(self, timeout: float) -> list[tuple[Control, int]]:
        """Wait up to `timeout` s; return the controls recorded so far, oldest first."""
        if self._r < 0:
            return self._take()
        if not self._pending:
            with contextlib.suppress(InterruptedError):
                self._poll.poll(max(0.0, timeout) * 1000)
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass
        return self._take()

    def _take(self) -> list[tuple[Control, int]]:
        out = []
        while self._pending:
            out.append(self._pending.popleft())
        return out
