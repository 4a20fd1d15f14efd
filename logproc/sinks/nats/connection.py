"""One NATS connection of the `nats` sink: a socket of its own, synchronous, used from the
sink's thread only (opened by `handshake.connect`).

Decision: the sink speaks the protocol itself (`protocol`) instead of going through
nats-py. nats-py is asyncio-only and its per-message path (a publish call, headers
translated, a parser callback, a subscription queue per reply) was 90 % of the sink
thread's time: about 8 µs of CPU per JetStream message, 105,000 messages a second at best
on loopback. Commands joined into one write and acknowledgements parsed in bulk take
about 1.3 µs: 230,000 a second against a local nats-server -js, which is then the
bottleneck (see `publish`). Using nats-py for the handshake only and its transport for the
rest was rejected: that transport and its reading task are private, and the two would
both read the socket. What is kept of a client is small: connect with TLS and
credentials (`handshake`), answer the server's PING, read frames.

Contract:
- The socket is non-blocking and every wait is cut in `ABORT_POLL` slices: `Aborted`
  once `stop()` says the runner's shutdown deadline passed.
- `send` returns how many bytes the kernel took; fewer than given means the connection is
  broken (`broken` says why): a command cut in two cannot be completed, so it is never
  used again. `receive` returns the messages that came before the deadline, answers PING
  with PONG, counts PONGs and keeps the latest -ERR text (`error`); `drain` reads what came
  while nobody read, without waiting.
- No reconnecting here: the sink drops a broken connection and connects anew after its
  own backoff (one retry policy, the sink's); nothing is buffered in between.
"""

from __future__ import annotations

import math
import select
import socket
import ssl
import time
from collections.abc import Callable
from secrets import token_hex
from typing import Any

import orjson

from logproc.errors import RetriableSinkError
from logproc.sinks.nats.protocol import Msg, ProtocolError, Server, error_text, parse

ABORT_POLL = 0.05  # seconds between two looks at the runner's abort event while waiting
READ_SIZE = 1 << 18
DRAIN_READS = 64  # reads at most when draining (what a server sends an idle client is small)
DEFAULT_MAX_PAYLOAD = 1 << 20
NOTHING: tuple[list[bytes], list[Msg]] = ([], [])


class Unavailable(Exception):
    """No server could be reached (or the connection was lost)."""


class Aborted(RetriableSinkError):
    """The runner's shutdown deadline passed while publishing or waiting to retry."""


def ready(sock: socket.socket, events: int, deadline: float, stop: Callable[[], bool]) -> bool:
    """Wait until `sock` is ready for `events` (False: the deadline passed first)."""
    poller = select.poll()
    poller.register(sock.fileno(), events)
    while True:
        if stop():
            raise Aborted("stopped publishing: shutdown deadline passed")
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if poller.poll(math.ceil(min(left, ABORT_POLL) * 1000)):
            return True


class Connection:
    def __init__(self, sock: socket.socket, server: Server, timeout: float, stop: Callable[[], bool]) -> None:
        self.sock = sock
        self.server = server
        self.timeout = timeout
        self.stop = stop
        self.info: dict[str, Any] = {}
        self.inbox = b""  # the reply subjects' prefix, "_INBOX.<random>." (JetStream only)
        self.next_token = 0  # the number of the next reply subject
        self.pongs = 0
        self.received = 0  # bytes read
        self.error = ""  # the server's latest -ERR
        self.broken = ""  # why the connection is unusable; empty while it is usable
        self._buf = b""

    @property
    def usable(self) -> bool:
        return not self.broken

    @property
    def max_payload(self) -> int:
        return int(self.info.get("max_payload") or DEFAULT_MAX_PAYLOAD)

    def close(self) -> None:
        self.broken = self.broken or "closed"
        self.sock.close()

    def _break(self, why: str) -> None:
        if not self.broken:
            self.broken = why
        self.sock.close()

    def send(self, data: bytes, deadline: float) -> int:
        """Hand `data` to the kernel; the bytes taken (all, unless the connection broke)."""
        view, sent, size = memoryview(data), 0, len(data)
        try:
            while sent < size:
                try:
                    sent += self.sock.send(view[sent:])
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError) as exc:
                    events = select.POLLIN if isinstance(exc, ssl.SSLWantReadError) else select.POLLOUT
                    if not ready(self.sock, events, deadline, self.stop):
                        self._break(f"nothing sent for {self.timeout:g}s")
                        break
        except OSError as exc:
            self._break(f"sending failed: {exc.strerror or exc}")
        except Aborted:
            if sent:
                self._break("aborted while sending")
            raise
        return sent

    def receive(self, deadline: float) -> tuple[list[bytes], list[Msg]]:
        """Wait for bytes until `deadline`; the complete messages they end (maybe none): the
        numbers `n` of plain JetStream acknowledgements to `<inbox><n>`, and the others."""
        while self.usable:
            try:
                chunk = self.sock.recv(READ_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError) as exc:
                events = select.POLLOUT if isinstance(exc, ssl.SSLWantWriteError) else select.POLLIN
                if not ready(self.sock, events, deadline, self.stop):
                    return NOTHING
                continue
            except OSError as exc:
                self._break(f"reading failed: {exc.strerror or exc}")
                return NOTHING
            self.received += len(chunk)
            if not chunk:
                self._break("closed by the server" + (f" ({self.error})" if self.error else ""))
                return NOTHING
            data = self._buf + chunk if self._buf else chunk
            try:
                acks, msgs, ops, used = parse(data)
            except ProtocolError as exc:
                self._break(str(exc))
                return NOTHING
            self._buf = data[used:]
            if ops:
                self._operations(ops)
            return acks, msgs
        return NOTHING

    def drain(self) -> None:
        """Read, without waiting, what came while nobody read: PINGs answered, late replies
        dropped, a close noticed."""
        for _ in range(DRAIN_READS):
            before = self.received
            self.receive(time.monotonic())
            if not self.usable or self.received == before:
                return

    def _operations(self, ops: list[bytes]) -> None:
        for op in ops:
            if op == b"PING":
                self.send(b"PONG\r\n", time.monotonic() + self.timeout)
            elif op == b"PONG":
                self.pongs += 1
            elif op.startswith(b"-ERR"):
                self.error = error_text(op)
            elif op.startswith(b"INFO "):
                try:
                    self.info = orjson.loads(op[5:])
                except orjson.JSONDecodeError:
                    self._break("unreadable INFO from the server")

    def ping(self, deadline: float) -> bool:
        """A round trip: everything sent before was read by the server. Messages that come
        meanwhile are dropped (late replies of finished attempts)."""
        want = self.pongs + 1
        if self.send(b"PING\r\n", deadline) < 6:
            return False
        while self.pongs < want:
            if not self.usable or time.monotonic() >= deadline:
                return False
            self.receive(deadline)
        return True

    def subscribe(self, deadline: float) -> None:
        """Take the replies to `<inbox><n>` (on one subscription, sid 1)."""
        self.inbox = b"_INBOX." + token_hex(11).encode() + b"."
        self.send(b"SUB " + self.inbox + b"* 1\r\n", deadline)

    def start_tls(self, context: ssl.SSLContext, hostname: str, deadline: float) -> None:
        sock = context.wrap_socket(self.sock, server_hostname=hostname, do_handshake_on_connect=False)
        self.sock = sock
        while True:
            try:
                sock.do_handshake()
                return
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError) as exc:
                events = select.POLLIN if isinstance(exc, ssl.SSLWantReadError) else select.POLLOUT
                if not ready(sock, events, deadline, self.stop):
                    raise TimeoutError("TLS handshake timed out") from None


def pause(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep `seconds`, raising `Aborted` as soon as `stop()`."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stop():
            raise Aborted("stopped publishing: shutdown deadline passed")
        time.sleep(min(left, ABORT_POLL))
