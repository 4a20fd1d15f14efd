"""Sending framed syslog messages over UDP, TCP or TLS, from the sink's thread only.

Payloads arrive as the consumers framed them (see `logproc.sinks.syslog`):
- UDP payloads are octet-counted (`LEN SP MSG` …); `UdpTransport` splits them and sends
  one message per datagram. The socket is connected, so an ICMP "port unreachable" from
  a receiver that is down surfaces as an error on a later send, and the write is retried
  whole. UDP has no acknowledgement: a datagram the receiver drops (down, buffer full) is
  lost without notice — the nature of syslog over UDP.
- TCP payloads are already the wire bytes (octet counting or newline framing) and are
  sent as one stream. A write is acknowledged once the kernel accepted every byte.

TLS (`tls://`, RFC 5425) is TCP with a TLS client context from the `tls` table, built
anew for each connection: a renewed CA bundle or client certificate (same paths) is used
from the next connection on. A refused handshake (unknown CA, a name that does not match,
our certificate refused) is a failed connect: retried, logged, nothing acknowledged.

TCP and TLS reconnects: a failed connect or send closes the connection and raises
`RetriableSinkError`; the runner retries the *whole* write with jittered backoff, on a new
connection. Messages sent before the failure are therefore sent again: after a reconnect
a receiver may see a message twice (at-least-once), never a half message — a torn frame
dies with its connection. Before each write, a connection the peer has closed (FIN or
RST while idle, e.g. the receiver restarted) is noticed and replaced, so a write is not
lost into a dead socket. Plain syslog has no application-level acknowledgement (RELP is
not implemented): bytes the receiver's kernel accepted but the receiver never read before
it died are lost.
"""

from __future__ import annotations

import select
import socket
import ssl

from logproc.config.tls import TlsConfig
from logproc.errors import RetriableSinkError
from logproc.log import get_logger
from logproc.sinks.retry import blocked_hint

log = get_logger("sink")

CONNECT_TIMEOUT = 10.0
# a receiver that stops reading for this long gets a new connection (its messages sent again)
SEND_TIMEOUT = 30.0


def parse_address(address: str) -> tuple[str, str, int]:
    """`udp://host:port`, `tcp://host:port` or `tls://host:port` (the schema checked it) as
    (scheme, host, port); an IPv6 literal is written in brackets, `tcp://[::1]:601`."""
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return scheme, host, int(port)


def split_octet_frames(payload: bytes) -> list[memoryview]:
    """The MSGs of an octet-counted payload (`LEN SP MSG` repeated), without copying."""
    view = memoryview(payload)
    out: list[memoryview] = []
    pos, end = 0, len(payload)
    while pos < end:
        sp = payload.index(b" ", pos)
        start = sp + 1
        pos = start + int(payload[pos:sp])
        out.append(view[start:pos])
    return out


class UdpTransport:
    def __init__(self, sink: str, host: str, port: int) -> None:
        self.sink, self.host, self.port = sink, host, port
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        family, kind, proto, _, addr = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.connect(addr)
        except OSError:
            sock.close()
            raise
        return sock

    def send(self, payloads: list[bytes]) -> None:
        try:
            sock = self._sock = self._sock or self._connect()
            for payload in payloads:
                for message in split_octet_frames(payload):
                    sock.send(message)
        except OSError as exc:
            self.close()
            where = f"udp://{self.host}:{self.port}"
            raise RetriableSinkError(f"syslog {where}: {exc}{blocked_hint(exc)}") from exc

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class TcpTransport:
    """TCP, or TLS over it when `tls` is given (see the module doc)."""

    def __init__(self, sink: str, host: str, port: int, tls: TlsConfig | None = None) -> None:
        self.sink, self.host, self.port, self.tls = sink, host, port, tls
        self.where = f"{'tls' if tls is not None else 'tcp'}://{self.host}:{self.port}"
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if self.tls is not None:  # the handshake runs here, within CONNECT_TIMEOUT
                sock = self.tls.client_context().wrap_socket(
                    sock, server_hostname=self.tls.server_name or self.host)
        except OSError:
            sock.close()
            raise
        sock.settimeout(SEND_TIMEOUT)
        log.info("syslog connected", sink=self.sink, address=self.where)
        return sock

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        """True when the peer closed or reset the connection. A syslog receiver never
        sends, so a readable socket means EOF or an error (data is read and ignored)."""
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        if not poller.poll(0):
            return False
        try:
            if isinstance(sock, ssl.SSLSocket):  # TLS records (1.3 session tickets) are not EOF
                sock.setblocking(False)
                try:
                    return sock.recv(4096) == b""
                finally:
                    sock.settimeout(SEND_TIMEOUT)
            return sock.recv(4096, socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except OSError:
            return True

    def send(self, payloads: list[bytes]) -> None:
        sock = self._sock
        if sock is not None and self._peer_closed(sock):
            log.warning("syslog receiver closed the connection, reconnecting", sink=self.sink)
            self.close()
            sock = None
        try:
            if sock is None:
                sock = self._sock = self._connect()
            sock.sendall(payloads[0] if len(payloads) == 1 else b"".join(payloads))
        except OSError as exc:
            self.close()
            raise RetriableSinkError(f"syslog {self.where}: {exc}{blocked_hint(exc)}") from exc

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
