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
- shutdown: the runner's abort event (`set_abort`) cancels the attempt or the wait in
  progress; `write` raises `RetriableSinkError`, nothing is acknowledged;
- liveness: `last_attempt` is moved before each attempt (`2 * timeout`: connecting, then
  the acknowledgements) and each planned wait;
- logging: one line when a kind of trouble starts (warning; error for a missing stream),
  one info line when publishing succeeds again. Never a credential: servers are named
  without their user-info.

The connection and the event loop are created in this thread on the first write.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from logproc.errors import RetriableSinkError
from logproc.log import get_logger
from logproc.sinks.base import Delivery, Sink, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.nats.config import shown_urls
from logproc.sinks.nats.connection import Connection, Unavailable, connect, tls_context
from logproc.sinks.nats.framing import split
from logproc.sinks.nats.publish import (
    DUPLICATE,
    NO_REPLY,
    NO_STREAM,
    OK,
    Acks,
    ApiError,
    Message,
    Outcome,
    TooLarge,
    publish_core,
    publish_js,
)
from logproc.sinks.retry import Backoff

log = get_logger("sink")
BACKOFF_BASE = 0.2
IDLE_CHECK = 30.0  # seconds idle after which the connection is checked (PING) before use
ABORT_POLL = 0.05  # seconds between two looks at the runner's abort event
#: why messages are sent again: (rank, kind, message); a higher rank tells more
Trouble = tuple[int, str, str]


class Aborted(RetriableSinkError):
    """The runner's shutdown deadline passed while publishing or waiting to retry."""


class NatsSink(Sink):
    def __init__(self, name: str, cfg: Any, dead_letters: DeadLetters) -> None:
        self.name = name
        self.cfg = cfg
        self.dead_letters = dead_letters
        self.timeout: float = cfg.timeout
        self.servers = shown_urls(cfg)
        self._abort = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None
        self._acks: Acks | None = None
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
        messages: list[Message] = []
        owners: list[Delivery] = []
        for d in deliveries:
            for message in split(d.payload):
                messages.append(message)
                owners.append(d)
        if not messages:
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._deliver(messages, owners))

    def reopen(self) -> None:
        """Nothing to reopen (SIGUSR1 is for files); connections heal on their own."""

    def close(self) -> None:
        if self._loop is None:
            return
        if self._conn is not None:
            self._loop.run_until_complete(self._conn.close(self.timeout))
        self._loop.close()

    # -- in the event loop -------------------------------------------------------------
    async def _deliver(self, messages: list[Message], owners: list[Delivery]) -> None:
        task = asyncio.current_task()
        assert task is not None
        watch = asyncio.ensure_future(self._watch_abort(task))
        try:
            await self._settle_all(messages, owners)
        except asyncio.CancelledError:
            if not self._abort.is_set():
                raise
            raise Aborted("stopped retrying: shutdown deadline passed") from None
        finally:
            watch.cancel()

    async def _watch_abort(self, task: asyncio.Task[Any]) -> None:
        while not self._abort.is_set():
            await asyncio.sleep(ABORT_POLL)
        task.cancel()

    async def _settle_all(self, messages: list[Message], owners: list[Delivery]) -> None:
        todo = list(range(len(messages)))
        backoff = Backoff(BACKOFF_BASE, self.cfg.retry_max_backoff)
        while True:
            self.last_attempt = time.monotonic() + 2 * self.timeout
            try:
                conn = await self._connection()
                batch = [messages[i] for i in todo]
                if self.cfg.jetstream:
                    assert self._acks is not None  # started with the connection
                    outcomes = await publish_js(conn, self._acks, batch, self.timeout)
                else:
                    outcomes = await publish_core(conn, batch, self.timeout)
                self._used_at = time.monotonic()
                todo, trouble = self._settle(todo, outcomes, messages, owners, conn)
            except Unavailable as exc:
                trouble = (3, "unreachable", f"cannot reach the NATS server ({self.servers}): {exc}")
            if not todo:
                self._recovered()
                return
            if self._conn is not None and not self._conn.usable:
                await self._drop()
            delay = backoff.next()
            self.retries += 1
            self._failed(*trouble, delay=delay, waiting=len(todo))
            self.last_attempt = time.monotonic() + delay
            await asyncio.sleep(delay)

    def _settle(self, todo: list[int], outcomes: list[Outcome], messages: list[Message],
                owners: list[Delivery], conn: Connection) -> tuple[list[int], Trouble]:
        """Count and dead-letter what is settled; the messages to send again and why."""
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
                                  f"of {outcome.limit}", messages[i], owners[i], None)
            elif isinstance(outcome, ApiError) and outcome.code == 400:
                self._dead_letter(f"refused by the stream: {outcome.description}", messages[i],
                                  owners[i], outcome.code)
            else:
                again.append(i)
                trouble = max(trouble, self._why(outcome, messages[i][0], conn))
        return again, trouble

    def _why(self, outcome: Outcome, subject: str, conn: Connection) -> Trouble:
        """Why a message is to be sent again; the highest rank tells the most."""
        if outcome is NO_STREAM:
            return (5, "no stream", f"no JetStream stream takes subject {subject!r}: create one "
                    "(or add the subject to a stream's subjects); retrying until there is")
        if isinstance(outcome, ApiError):
            return (4, "stream error", f"the stream refused a message: {outcome.description} "
                    f"(code {outcome.code})")
        if outcome is NO_REPLY and not conn.usable:
            return (2, "lost", f"the connection to the NATS server ({self.servers}) was lost")
        return (1, "no ack", f"no acknowledgement within {self.timeout:g}s")

    async def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None and conn.usable and time.monotonic() - self._used_at > IDLE_CHECK:
            # the loop runs only during writes: an idle connection may be dead unnoticed
            try:
                await conn.client.flush(timeout=max(1, round(self.timeout)))
            except Exception:  # any failure: connect anew, below
                await self._drop()
        if self._conn is not None and self._conn.usable:
            return self._conn
        await self._drop()
        try:
            context = tls_context(self.cfg)
        except (OSError, ValueError) as exc:
            raise Unavailable(f"TLS setup failed: {exc}") from None
        conn = await connect(self.cfg, self.name, context)
        if self.cfg.jetstream:
            acks = Acks()
            await acks.start(conn)
            self._acks = acks
        self._conn, self._used_at = conn, time.monotonic()
        return conn

    async def _drop(self) -> None:
        conn, self._conn, self._acks = self._conn, None, None
        if conn is not None:
            await conn.close(min(self.timeout, 2.0))

    # -- bookkeeping ------------------------------------------------------------------
    def _dead_letter(self, reason: str, message: Message, owner: Delivery, status: int | None) -> None:
        unit = Delivery(owner.source, message[2] + b"\n", 1, noop, owner.stream)
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
