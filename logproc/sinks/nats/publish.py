"""Publishing one attempt's messages: pipelined into JetStream, or sent with core NATS.

JetStream (`publish_js`): every message is published with a reply subject on this
connection's own inbox (`Acks`), at most `WINDOW` of them unacknowledged at once, and the
stream's replies are matched back by token. Rejected: nats-py's `js.publish` (one round
trip per message) and `js.publish_async` (half the rate measured on loopback: a task
and a JSON parse per message, and futures with no timeout). The attempt ends when every
message has its reply, the connection is lost, or `timeout` passes without all of them;
the outcome of each message is then one of:

- `OK`, `DUPLICATE` (the stream already had its `Nats-Msg-Id`: delivered before),
- `NO_STREAM` (no stream takes the subject: the server's 503 "no responders"),
- `NO_REPLY` (not known: sent again by the sink, which the id makes harmless),
- an `ApiError` (the stream refused it: its code and description),
- a `TooLarge` (over the server's max_payload, refused before sending).

Core NATS (`publish_core`) hands every message to the connection, then flushes (one
PING/PONG): at most once. A message the connection would not take is not sent and is
returned for the sink to send again; once handed over, it counts as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import nats
import orjson
from nats.aio.msg import Msg

from logproc.sinks.nats.connection import Connection

WINDOW = 4096  # messages awaiting their acknowledgement at once
OK, DUPLICATE, NO_STREAM, NO_REPLY = "ok", "duplicate", "no stream", "no reply"
Message = tuple[str, str, bytes]  # subject, id ("" when none), body


@dataclass(frozen=True, slots=True)
class ApiError:
    code: int
    description: str


@dataclass(frozen=True, slots=True)
class TooLarge:
    size: int
    limit: int


Outcome = str | ApiError | TooLarge


class Acks:
    """The reply inbox of one connection: tokens to (outcomes list, index)."""

    def __init__(self) -> None:
        self.prefix = ""
        self.pending: dict[str, tuple[list[Outcome], int]] = {}
        self.waiting = 0  # messages sent and not yet answered
        self.wakeup: asyncio.Future[None] | None = None  # set when `waiting` falls to `wake_at`
        self.wake_at = 0
        self.next = 0

    async def start(self, conn: Connection) -> None:
        self.prefix = conn.client.new_inbox() + "."
        await conn.client.subscribe(self.prefix + "*", cb=self._reply)

    def token(self, outcomes: list[Outcome], index: int) -> str:
        self.next += 1
        token = str(self.next)
        self.pending[token] = (outcomes, index)
        self.waiting += 1
        return self.prefix + token

    def forget(self) -> None:
        """Drop what is outstanding (an attempt ended): late replies are ignored."""
        self.pending.clear()
        self.waiting = 0

    async def _reply(self, msg: Msg) -> None:
        found = self.pending.pop(msg.subject[len(self.prefix):], None)
        if found is None:
            return
        outcomes, index = found
        outcomes[index] = read_ack(msg)
        self.waiting -= 1
        if self.wakeup is not None and self.waiting <= self.wake_at and not self.wakeup.done():
            self.wakeup.set_result(None)

    async def until(self, count: int, conn: Connection, deadline: float) -> bool:
        """Wait until at most `count` messages are unanswered; False when the connection
        was lost or `deadline` (monotonic) passed first."""
        while self.waiting > count:
            left = deadline - time.monotonic()
            if left <= 0 or conn.lost.done():
                return False
            self.wakeup, self.wake_at = asyncio.get_running_loop().create_future(), count
            await asyncio.wait((self.wakeup, conn.lost), timeout=left,
                               return_when=asyncio.FIRST_COMPLETED)
            self.wakeup = None
        return True


def read_ack(msg: Msg) -> Outcome:
    """A JetStream publish reply: `{"stream":…,"seq":…[,"duplicate": true]}`, an error, or
    the 503 status of a subject no stream takes."""
    data = msg.data
    if not data and msg.headers and msg.headers.get("Status") == "503":
        return NO_STREAM
    if b'"error"' not in data and b'"duplicate"' not in data and data.startswith(b'{"stream"'):
        return OK  # the common reply, read without parsing it
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return ApiError(0, f"unreadable reply {data[:200]!r}")
    err = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(err, dict):
        return ApiError(int(err.get("code") or 0), str(err.get("description") or err))
    return DUPLICATE if isinstance(doc, dict) and doc.get("duplicate") else OK


async def publish_js(conn: Connection, acks: Acks, messages: list[Message], timeout: float) -> list[Outcome]:
    """Publish `messages` into JetStream; the outcome of each (see the module doc). A lost
    connection ends the attempt early: what was not answered is `NO_REPLY`."""
    outcomes: list[Outcome] = [NO_REPLY] * len(messages)
    publish, limit = conn.client.publish, conn.client.max_payload
    try:
        for i, (subject, mid, body) in enumerate(messages):
            if len(body) > limit:
                outcomes[i] = TooLarge(len(body), limit)
                continue
            if acks.waiting >= WINDOW and not await acks.until(WINDOW // 2, conn, time.monotonic() + timeout):
                break
            await publish(subject, body, reply=acks.token(outcomes, i),
                          headers={"Nats-Msg-Id": mid} if mid else None)
        else:
            await acks.until(0, conn, time.monotonic() + timeout)
    except nats.errors.Error:
        pass  # not connected (nothing is buffered then): the rest have no reply
    finally:
        acks.forget()
    return outcomes


async def publish_core(conn: Connection, messages: list[Message], timeout: float) -> list[Outcome]:
    """Send `messages` with core NATS: `OK` once handed to the connection (at most once:
    never sent again), `NO_REPLY` for those it would not take (sent again later)."""
    outcomes: list[Outcome] = [NO_REPLY] * len(messages)
    publish, limit = conn.client.publish, conn.client.max_payload
    try:
        for i, (subject, mid, body) in enumerate(messages):
            if len(body) > limit:
                outcomes[i] = TooLarge(len(body), limit)
                continue
            await publish(subject, body, headers={"Nats-Msg-Id": mid} if mid else None)
            outcomes[i] = OK
    except nats.errors.Error:
        return outcomes  # not connected: the rest were not handed over
    # handed over: at most once, not sent again (the sink sees the lost connection)
    with contextlib.suppress(TimeoutError, nats.errors.Error, OSError):
        await conn.client.flush(timeout=max(1, round(timeout)))
    return outcomes
