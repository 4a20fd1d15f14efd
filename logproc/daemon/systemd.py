"""sd_notify by hand: one datagram per state change to `$NOTIFY_SOCKET`.

The protocol is newline-separated `KEY=VALUE` assignments in one `AF_UNIX` datagram; a
socket name starting with `@` is in the abstract namespace. Without `NOTIFY_SOCKET`
(not under systemd) every call is a no-op. Errors are swallowed after the first log line:
notification must never take the daemon down.

What logproc sends: `READY=1` once every source is watching; `RELOADING=1` with
`MONOTONIC_USEC=` (the clock systemd compares) when a reload begins, `READY=1` when it
ends; `STOPPING=1` when shutdown begins; `STATUS=` with live counts; `WATCHDOG=1` every
half `$WATCHDOG_USEC` while the pipeline is healthy (`watchdog_interval`).
"""

from __future__ import annotations

import os
import socket
import time

from logproc.log import get_logger

log = get_logger("systemd")


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address
        self._sock: socket.socket | None = None
        self._warned = False
        if address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    @staticmethod
    def watchdog_interval() -> float:
        """Seconds between `WATCHDOG=1` pings (half of `$WATCHDOG_USEC`), 0 when systemd
        asks for none or addressed the request to another process (`$WATCHDOG_PID`)."""
        pid = os.environ.get("WATCHDOG_PID", "")
        if pid and pid != str(os.getpid()):
            return 0.0
        try:
            usec = int(os.environ.get("WATCHDOG_USEC", "0"))
        except ValueError:
            return 0.0
        return usec / 2e6 if usec > 0 else 0.0

    def reloading(self) -> None:
        self.notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def notify(self, *assignments: str) -> None:
        if self._sock is None:
            return
        try:
            self._sock.sendto("\n".join(assignments).encode(), self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd", socket=self.address.replace("\0", "@"), error=str(exc))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
