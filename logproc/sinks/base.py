"""The sink protocol and what a consumer hands a sink.

A `Delivery` is the formatted payload of one batch for one sink: bytes ready to write, the
number of entries in it, and the `ack` to call once it is durable (written and flushed).
A sink's `write` either succeeds for every delivery given, or raises: a
`RetriableSinkError` (tried again, forever, with backoff) or a `FatalSinkError` (those
entries go to the dead-letter file). Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


def noop() -> None:
    """An acknowledgement that does nothing (before a ticket exists, or after it was used)."""


@dataclass(slots=True)
class Delivery:
    source: str
    payload: bytes
    entries: int
    ack: Callable[[], None]
    stream: str = ""  # the batch's stream (one file read in order)


class Sink(Protocol):
    """What the runner drives. Called from the sink's own thread only."""

    name: str

    def write(self, deliveries: list[Delivery]) -> None:
        """Write and flush every delivery, or raise a SinkError."""

    def reopen(self) -> None:
        """Reopen output files (after logrotate moved them). No-op for others."""

    def close(self) -> None:
        """Flush and release everything; called once, last."""
