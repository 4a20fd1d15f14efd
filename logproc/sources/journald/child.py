"""One journalctl child process, read line by line with deadlines.

Contract:
- `Child(args, name)` starts the process (stdin /dev/null, stdout a pipe read here,
  stderr a pipe relayed to logproc's log by a small thread, one warning per line, the
  source named). Raises OSError when it cannot start.
- `lines(max_lines, linger, wait)`: complete lines (no newline), at most `max_lines`;
  it waits up to `wait` seconds for the first one, then up to `linger` seconds more for
  others (what arrived together is one batch, a trickle does not wait long). An empty
  list means nothing came in time, or the output ended (`ended` tells).
- `close()`: SIGTERM, a short wait, SIGKILL; reaps the process and the relay thread.
  `returncode` is then known.

A journalctl that outlives logproc (SIGKILL of the daemon) ends by itself: with
`--follow` it watches its stdout and exits when the reader is gone (seen with systemd
252: it exits within milliseconds of the pipe's read end closing).
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time

from logproc.log import get_logger

CHUNK = 1 << 16
TERM_WAIT = 2.0  # seconds journalctl gets to end after SIGTERM

log = get_logger("source")


class Child:
    """A running journalctl whose stdout is cut into lines (see the module doc)."""

    def __init__(self, args: list[str], name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, close_fds=True)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.ended = False  # stdout reached its end (the process ended or closed it)
        self.errors: list[str] = []  # stderr lines, the last few (for the reason of a failure)
        self._buf = bytearray()
        self._ready: list[bytes] = []
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLIN)
        self._relay = threading.Thread(target=self._relay_stderr, name=f"journalctl-{name}", daemon=True)
        self._relay.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def lines(self, max_lines: int, linger: float, wait: float) -> list[bytes]:
        deadline = time.monotonic() + wait
        while not self._ready and not self.ended:
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                break
        if self._ready and not self.ended and len(self._ready) < max_lines:
            more_until = time.monotonic() + linger
            while len(self._ready) < max_lines and not self.ended:
                left = more_until - time.monotonic()
                if left <= 0 or not self._fill(left):
                    break
        out, self._ready = self._ready[:max_lines], self._ready[max_lines:]
        return out

    def _fill(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False when nothing came."""
        if not self._poll.poll(max(0, int(timeout * 1000))):
            return False
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return False
        if not data:
            self.ended = True  # an unterminated last line is not a whole entry: dropped
            return False
        self._buf += data
        if b"\n" in data:
            *whole, rest = bytes(self._buf).split(b"\n")
            self._ready += [line for line in whole if line]
            self._buf = bytearray(rest)
        return True

    def _relay_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self.errors = [*self.errors[-4:], text]
                log.warning("journalctl says", source=self.name, message=text)

    def close(self) -> int:
        """End the process (if it runs) and reap it; its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TERM_WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        self._relay.join(TERM_WAIT)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        if not self._relay.is_alive():  # else a descendant holds stderr open: left to the relay
            self.proc.stderr.close()
        return code
