"""One TCP (or TLS) client of a syslog receiver, read without blocking.

`Conn.read()` is called when the selector says the socket is readable; it returns the
messages the bytes completed (see `framing`) and whether the stream ended. It never
blocks: a plain socket is read once per call (the loop comes back while the kernel holds
more; clients take turns), a TLS one until OpenSSL holds no decrypted byte (`pending()`:
those bytes would never make the socket readable again).

TLS (RFC 5425): the handshake runs inside `read()` too, step by step
(`ssl.SSLWantReadError`: wait for the next bytes). A handshake that fails — no client
certificate while the listener requires one, one from another CA, not TLS at all —
ends the connection; `refused` holds why, for the log. Nothing is read from such a
client. A handshake that needs to write while the socket is full is retried on the next
readable event (the client's next bytes or its own retransmission wake us).
"""

from __future__ import annotations

import contextlib
import socket
import ssl

from logproc.sources.syslog.framing import Framer, Framing, FramingError

RECV_BYTES = 256 << 10


class Conn:
    """A connected client: its socket, its stream name, its framer."""

    __slots__ = ("framer", "handshaking", "paused", "peer", "refused", "sock", "stream")

    def __init__(self, sock: socket.socket, peer: str, stream: str, framing: Framing,
                 max_bytes: int) -> None:
        self.sock = sock
        self.peer = peer  # tcp://HOST:PORT (the entries' `file`)
        self.stream = stream  # SOURCE/tcp://HOST:PORT (one queue stream per connection)
        self.framer = Framer(framing, max_bytes)
        self.handshaking = isinstance(sock, ssl.SSLSocket)
        self.paused = False  # not read while its pending batch does not fit in the queue
        self.refused = ""  # why a TLS handshake failed, or why the framing broke

    def read(self) -> tuple[list[bytes], bool]:
        """(messages completed, ended). Ended: the client closed or reset the connection,
        its TLS handshake failed or its framing broke (see `refused`)."""
        if self.handshaking and not self._handshake():
            return [], bool(self.refused)
        chunks: list[bytes] = []
        ended = False
        try:
            while True:
                data = self.sock.recv(RECV_BYTES)
                if not data:
                    ended = True
                    break
                chunks.append(data)
                if not isinstance(self.sock, ssl.SSLSocket) or not self.sock.pending():
                    break
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (ssl.SSLError, OSError):  # reset, a TLS alert, a broken record
            ended = True
        if not chunks:
            return (self.framer.finish() if ended else []), ended
        try:
            msgs = self.framer.feed(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        except FramingError as exc:
            self.refused = str(exc)
            return [], True
        if ended:
            msgs += self.framer.finish()
        return msgs, ended

    def _handshake(self) -> bool:
        sock = self.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except (ssl.SSLError, OSError) as exc:
            self.refused = f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}"
            return False
        self.handshaking = False
        return True

    def finish(self) -> list[bytes]:
        """What is left in the framer, when the receiver stops."""
        return self.framer.finish()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
