"""Publishing one attempt's messages over a `Connection`: pipelined into JetStream, or
sent with core NATS.

Messages are the formatter's (`framing`): a head `HPUB <subject>` and a tail with the
sizes, headers and body; `todo` names the ones of this attempt.

JetStream (`publish_js`): message `k` of the attempt is sent as
`head + b" " + <inbox><base + k> + tail`, `base` counting up on the connection so that a
reply names its message and late replies of an earlier attempt fall outside this one's
range (dropped). At most `WINDOW` messages are unanswered at once; they go out
`b"".join`ed, one send per refill (at most `CHUNK_BYTES`), refilled once half were
answered. Replies are read in bulk (`Connection.receive`: raw frames, no per-message
callback; plain acknowledgements `{"stream":…,"seq":…}` taken by one regex per read).
Rejected: nats-py's `publish` with a reply per message, then its subscription's callback
(the previous design: its per-message path and ack intake were 90 % of the sink thread's
time), `js.publish` (one round trip per message) and `js.publish_async` (a task, a future
and a JSON parse per message). The attempt ends when every message has its reply, the
connection is lost, or `timeout` passes with no reply at all; the outcome of each
message is then one of:

- `OK`, `DUPLICATE` (the stream already had its `Nats-Msg-Id`: delivered before),
- `NO_STREAM` (no stream takes the subject: the server's 503 status, "no responders"),
- `NO_REPLY` (not known: sent again by the sink, which the id makes harmless),
- an `ApiError` (the stream refused it, or an unexpected status: code and description),
- a `TooLarge` (headers and body over the server's max_payload, refused before sending:
  the server would close the connection).

Core NATS (`publish_core`) writes the messages the same way without a reply subject, then
a PING answered by PONG (a flush): at most once. A message whose first byte the kernel
took counts as sent; the ones after a failed send are not sent and are `NO_REPLY` (the
sink sends them again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from logproc.sinks.nats.connection import Connection
from logproc.sinks.nats.framing import size_of

WINDOW = 4096  # messages awaiting their acknowledgement at once
CHUNK_BYTES = 1 << 20  # bytes of commands joined into one send at most
OK, DUPLICATE, NO_STREAM, NO_REPLY = "ok", "duplicate", "no stream", "no reply"


@dataclass(frozen=True, slots=True)
class ApiError:
    code: int
    description: str


@dataclass(frozen=True, slots=True)
class TooLarge:
    size: int
    limit: int


Outcome = str | ApiError | TooLarge


def read_ack(headers: bytes, data: bytes) -> Outcome:
    """A JetStream publish reply: `{"stream":…,"seq":…[,"duplicate": true]}`, an error, or
    a status (503: no stream takes the subject)."""
    if headers:
        status = headers.split(b"\r\n", 1)[0][len(b"NATS/1.0"):].strip()
        if status.startswith(b"503"):
            return NO_STREAM
        if status:
            return ApiError(0, f"status {status.decode(errors='replace')}")
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


def publish_js(conn: Connection, heads: list[bytes], tails: list[bytes], todo: list[int],
               timeout: float, alive: Callable[[float], None]) -> list[Outcome]:
    """Publish messages `todo` into JetStream; the outcome of each (see the module doc).
    `alive(until)` is called whenever replies come, with the time the rest may take."""
    count = len(todo)
    outcomes: list[Outcome | None] = [None] * count
    base = conn.next_token
    conn.next_token += count
    reply, skip, limit = b" " + conn.inbox, len(conn.inbox), conn.max_payload
    sent = waiting = 0
    deadline = time.monotonic() + timeout
    while conn.usable:
        if sent < count and waiting <= WINDOW // 2:
            parts: list[bytes] = []
            size, stop = 0, min(count, sent + WINDOW - waiting)
            for k in range(sent, stop):
                tail = tails[todo[k]]
                if len(tail) > limit and size_of(tail) > limit:
                    outcomes[k] = TooLarge(size_of(tail), limit)
                    continue
                parts += (heads[todo[k]], reply, b"%d" % (base + k), tail)
                size += len(tail)
                if size >= CHUNK_BYTES:
                    stop = k + 1
                    break
            data = b"".join(parts)
            if conn.send(data, time.monotonic() + timeout) < len(data):
                break
            sent, waiting = stop, waiting + len(parts) // 4
            continue
        if not waiting and sent == count:
            break
        acks, msgs = conn.receive(deadline)
        if acks or msgs:
            for n in acks:
                k = int(n) - base
                if 0 <= k < count and outcomes[k] is None:
                    waiting -= 1
                    outcomes[k] = OK
            for subject, headers, data in msgs:
                try:
                    k = int(subject[skip:]) - base
                except ValueError:
                    continue  # not a reply subject of ours
                if 0 <= k < count and outcomes[k] is None:
                    waiting -= 1
                    outcomes[k] = read_ack(headers, data)
            deadline = time.monotonic() + timeout
            alive(deadline + timeout)
        elif time.monotonic() >= deadline:
            break
    return [NO_REPLY if outcome is None else outcome for outcome in outcomes]


def publish_core(conn: Connection, heads: list[bytes], tails: list[bytes], todo: list[int],
                 timeout: float, alive: Callable[[float], None]) -> list[Outcome]:
    """Send messages `todo` with core NATS: `OK` once the kernel took (the start of) a
    message, at most once: never sent again; `NO_REPLY` for those not sent (sent again)."""
    count = len(todo)
    outcomes: list[Outcome] = [NO_REPLY] * count
    limit = conn.max_payload
    sent = 0
    while sent < count:
        parts: list[bytes] = []
        chunk: list[int] = []  # the messages of `parts`
        size, stop = 0, min(count, sent + WINDOW)
        for k in range(sent, stop):
            tail = tails[todo[k]]
            if len(tail) > limit and size_of(tail) > limit:
                outcomes[k] = TooLarge(size_of(tail), limit)
                continue
            parts += (heads[todo[k]], tail)
            chunk.append(k)
            size += len(tail)
            if size >= CHUNK_BYTES:
                stop = k + 1
                break
        data = b"".join(parts)
        deadline = time.monotonic() + timeout
        taken = conn.send(data, deadline)
        at = 0
        for j, k in enumerate(chunk):
            if at >= taken:
                return outcomes  # the connection broke: the rest were not handed over
            outcomes[k] = OK
            at += len(parts[2 * j]) + len(parts[2 * j + 1])
        sent = stop
        alive(deadline + timeout)
    # handed over: at most once, not sent again (a broken connection is the sink's to see)
    conn.ping(time.monotonic() + timeout)
    return outcomes
