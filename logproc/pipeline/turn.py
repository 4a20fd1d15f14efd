"""Per-file turns: batches of one file are computed side by side, handed to sinks in order.

The queue hands out one batch per file at a time. A consumer releases the file as soon as
it has taken a batch, so another consumer may take the file's next batch and parse and
format it meanwhile (in the worker processes, the slow part). Registering the batch with
the ack tracker and submitting it to the sinks, though, must follow the file's order —
the tracker advances a checkpoint over the prefix of a file's batches in registration
order, and sinks must see each file's lines in order. `Turn` is that order: the tailer
numbers its batches (`Batch.seq`) and gives them its `Turn`; a consumer `wait`s for its
batch's number, submits, then `done`s it.

No deadlock: a file's batches leave the queue in order, so when batch N+1 waits, batch N
is held by another consumer that is computing or waiting for N-1, and so on down to one
that can go. A consumer that dies holding a batch never calls `done`: the file stops
there (its later batches wait) instead of its checkpoint passing unwritten lines; /health
names the dead consumer. Lives as long as its tailer (no global table to clean up).
"""

from __future__ import annotations

import threading


class Turn:
    __slots__ = ("_cond", "_next")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next = 0

    def wait(self, seq: int, timeout: float | None = None) -> bool:
        """Block until it is batch `seq`'s turn; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._next == seq, timeout)

    def done(self, seq: int) -> None:
        with self._cond:
            self._next = seq + 1
            self._cond.notify_all()
