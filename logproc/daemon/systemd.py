"""sd_notify by hand: one datagram per state change to `$NOTIFY_SOCKET`.

The protocol is newline-separated `KEY=VALUE` assignments in one `AF_UNIX` datagram; a
socket name starting with `@` is in the abstract namespace. Without `NOTIFY_SOCKET`
(not under systemd) every call is a no-op. Errors are swallowed after the first log line:
notification must never take the daemon down.
"""

from __future__ import annotations

import os
import socket

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
