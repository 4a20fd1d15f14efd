"""The `stdout` sink: formatted lines on standard output, flushed once per write.

stdout belongs to this sink alone (the daemon logs to stderr). A reader that stops reading
makes writes block, which is backpressure like any slow sink; a closed pipe is a write
error that the runner retries, so the lines stay unacknowledged instead of lost.
"""

from __future__ import annotations

import os

from logproc.sinks.base import Delivery, Sink


class StdoutSink(Sink):
    def __init__(self, name: str, fd: int = 1) -> None:
        self.name = name
        self.fd = fd

    def write(self, deliveries: list[Delivery]) -> None:
        data = b"".join(d.payload for d in deliveries) if len(deliveries) > 1 else deliveries[0].payload
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass
