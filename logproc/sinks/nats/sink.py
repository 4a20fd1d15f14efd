"""The `nats` sink's thread: the consumers' framed messages published, retried until each
one is settled.

Contract (`write(deliveries)`; the runner acknowledges them all when it returns):
- every message of the write is published (`publish`), then settled: delivered (`OK`,
  or `DUPLICATE`: the stream had its id already, counted in `duplicates`), or
  dead-lettered when the message itself is refused (over the server's max_payload, or a
  stream error with code 400 such as "message size exceeds maximum allowed"). Everything
  else is sent again, alone, after an exponential backoff with full jitter capped by
  `retry_max_backoff`, forever (backpressure, never loss): the server unreachable or
  lost, no acknowledgement within `timeout`, no stream taking the subject (an operator
  must create one: logged as an error naming the subject), other stream errors;
- what is sent again carries the same `Nats-Msg-Id`, so the stream drops the copies it
  already has: exactly once within its duplicate window. Without ids (a source that gives
  none) a message whose acknowledgement was lost may be stored twice: at least once;
- `jetstream = false`: a message counts as sent once the connection took it (then a
  flush): at most once; only messages the connection refused are sent again;
- shutdown: the runner's abort event (`set_abort`) ends the attempt or the wait in
  progress within `connection.ABORT_POLL`; `write` raises `RetriableSinkError` (`Aborted`), nothing
  is acknowledged (a command cut in two closes the connection);
- liveness: `last_attempt` is moved before each connection attempt and each attempt
  (`2 * timeout`), whenever acknowledgements come, and before each planned wait;
- logging: one line when a kind of trouble starts (warning; error for a missing stream),
  one info line when publishing succeeds again. Never a credential: servers are named
  without their user-info.

Synchronous: the connection (`connection`) is a socket of this thread's, made on the
first write. Nothing reads it between writes: before the next one, what the server sent
meanwhile is read (its PINGs answered, a close noticed), and after `IDLE_CHECK` seconds
idle a PING must be answered (a dead connection would go unnoticed otherwise).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from logproc.log import get_logger
from logproc.sinks.base import Delivery, Sink, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.nats.config import shown_urls
from logproc.sinks.nats.connection import Aborted, Connection, Unavailable, pause
from logproc.sinks.nats.framing import body_of, split, subject_of
from logproc.sinks.nats.handshake import connect, tls_context
from logproc.sinks.nats.publish import (
    DUPLICATE,
    NO_REPLY,
    NO_STREAM,
    OK,
    ApiError,
    Outcome,
    TooLarge,
    publish_core,
    publish_js,
)
from logproc.sinks.retry import Backoff

log = get_logger("sink")
BACKOFF_BASE = 0.2
IDLE_CHECK = 30.0  # seconds idle after which the connection is checked (PING) before use
#: why messages are sent again: (rank, kind, message); a higher rank tells more
Trouble = tuple[int, str, str]


class NatsSink(Sink):
    def __init__(self, name: str, cfg: Any, dead_letters: DeadLetters) -> None:
        self.name = name
        self.cfg = cfg
        self.dead_letters = dead_letters
        self.timeout: float = cfg.timeout
        self.servers = shown_urls(cfg)
        self._abort = threading.Event()
        self._conn: Connection | None = None
        self._used_at = 0.0
        self._trouble: dict[str, str] = {}  # kind -> message, in the current episode
        self.retries = 0
        self.dead_lettered = 0
        self.duplicates = 0  # messages the stream already had (a retry after a lost ack)
        self.published = 0
        self.last_attempt = 0.0

    def set_abort(self, event: threading.Event) -> None:
        self._abort = event

    def write(self, deliveries: list[Delivery]) -> None:
        heads: list[bytes] = []
        tails: list[bytes] = []
        owners: list[Delivery] = []
        for d in deliveries:
            h, t = split(d.payload)
            heads += h
            tails += t
            owners += [d] * len(h)
        if heads:
            try:
                self._settle_all(heads, tails, owners)
            except Aborted:
                if self._conn is not None and not self._conn.usable:
                    self._drop()
                raise

    def reopen(self) -> None:
        """Nothing to reopen (SIGUSR1 is for files); connections heal on their own."""

    def close(self) -> None:
        self._drop()

    def _stopping(self) -> bool:
        return self._abort.is_set()

    def _alive(self, until: float) -> None:
        self.last_attempt = max(self.last_attempt, until)

    def _settle_all(self, heads: list[bytes], tails: list[bytes], owners: list[Delivery]) -> None:
        todo = list(range(len(heads)))
        backoff = Backoff(BACKOFF_BASE, self.cfg.retry_max_backoff)
        publish = publish_js if self.cfg.jetstream else publish_core
        while True:
            if self._abort.is_set():
                raise Aborted("stopped retrying: shutdown deadline passed")
            self.last_attempt = time.monotonic() + 2 * self.timeout
            try:
                conn = self._connection()
                outcomes = publish(conn, heads, tails, todo, self.timeout, self._alive)
                self._used_at = time.monotonic()
                todo, trouble = self._settle(todo, outcomes, heads, tails, owners, conn)
            except Unavailable as exc:
                trouble = (3, "unreachable", f"cannot reach the NATS server ({self.servers}): {exc}")
            if not todo:
                self._recovered()
                return
            if self._conn is not None and not self._conn.usable:
                self._drop()
            delay = backoff.next()
            self.retries += 1
            self._failed(*trouble, delay=delay, waiting=len(todo))
            self.last_attempt = time.monotonic() + delay
            pause(delay, self._stopping)

    def _settle(self, todo: list[int], outcomes: list[Outcome], heads: list[bytes], tails: list[bytes],
                owners: list[Delivery], conn: Connection) -> tuple[list[int], Trouble]:
        """Count and dead-letter what is settled; the messages to send again and why."""
        ok = outcomes.count(OK)
        if ok == len(outcomes):
            self.published += ok
            return [], (0, "", "")
        again: list[int] = []
        trouble: Trouble = (0, "", "")
        for i, outcome in zip(todo, outcomes, strict=True):
            if outcome is OK:
                self.published += 1
            elif outcome is DUPLICATE:
                self.published += 1
                self.duplicates += 1
            elif isinstance(outcome, TooLarge):
                self._dead_letter(f"message of {outcome.size} bytes: over the server's max_payload "
                                  f"of {outcome.limit}", tails[i], owners[i], None)
            elif isinstance(outcome, ApiError) and outcome.code == 400:
                self._dead_letter(f"refused by the stream: {outcome.description}", tails[i],
                                  owners[i], outcome.code)
            else:
                again.append(i)
                trouble = max(trouble, self._why(outcome, heads[i], conn))
        return again, trouble

    def _why(self, outcome: Outcome, head: bytes, conn: Connection) -> Trouble:
        """Why a message is to be sent again; the highest rank tells the most."""
        if outcome is NO_STREAM:
            return (5, "no stream", f"no JetStream stream takes subject {subject_of(head)!r}: create "
                    "one (or add the subject to a stream's subjects); retrying until there is")
        if isinstance(outcome, ApiError):
            return (4, "stream error", f"the stream refused a message: {outcome.description} "
                    f"(code {outcome.code})")
        if outcome is NO_REPLY and not conn.usable:
            return (2, "lost", f"the connection to the NATS server ({self.servers}) was lost: "
                    f"{conn.broken}")
        said = f" (the server said: {conn.error})" if conn.error else ""
        return (1, "no ack", f"no acknowledgement within {self.timeout:g}s{said}")

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None and conn.usable:
            conn.drain()  # what came meanwhile: PINGs answered, a close seen
        if (conn is not None and conn.usable and time.monotonic() - self._used_at > IDLE_CHECK
                and not conn.ping(time.monotonic() + self.timeout)):
            self._drop()
        if self._conn is not None and self._conn.usable:
            return self._conn
        self._drop()
        try:
            context = tls_context(self.cfg)
        except (OSError, ValueError) as exc:
            raise Unavailable(f"TLS setup failed: {exc}") from None
        self._conn = connect(self.cfg, self.name, context, self._stopping, self._alive)
        self._used_at = time.monotonic()
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- bookkeeping ------------------------------------------------------------------
    def _dead_letter(self, reason: str, tail: bytes, owner: Delivery, status: int | None) -> None:
        unit = Delivery(owner.source, body_of(tail) + b"\n", 1, noop, owner.stream)
        self.dead_lettered += self.dead_letters.write(self.name, reason, [unit], status, None)

    def _failed(self, _rank: int, kind: str, message: str, delay: float, waiting: int) -> None:
        if kind in self._trouble:
            return
        self._trouble[kind] = message
        say = log.error if kind == "no stream" else log.warning
        say(f"nats publish failed, retrying until it succeeds: {message}", sink=self.name,
            messages=waiting, retry_in=round(delay, 3))

    def _recovered(self) -> None:
        if self._trouble:
            kinds = sorted(self._trouble)
            self._trouble = {}
            log.info("nats publishes succeed again", sink=self.name, after=kinds)
