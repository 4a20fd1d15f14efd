"""`SyslogSource`: the receiver's one thread, a selector loop over every socket.

Decision: one thread with `selectors` for every listener and client, not a thread per
connection. The `Source` contract gives a source one thread; under the GIL, threads
would not read faster, and a loop has no cap on clients to choose (thousands of idle
senders cost a descriptor each, not a stack each). Clients take turns: a plain socket is
read once per readable event. The descriptors it holds are capped by the source's
budget (`SourceContext.budget`): a client past it is accepted and closed at once.

Backpressure (see `batcher`): a TCP client whose pending batch does not fit in the queue
is not read until it does — its kernel buffers fill and its sends block; a datagram that
finds its pending batch full while the queue is full is dropped and counted in
`stats.dropped["receiver_full"]`.

Listeners are bound when the source is built (`bind_all`: a bind error stops the start,
naming the address); the thread only reads. Stop (`stop()`, which waits for it, up to
`STOP_SECONDS`): the listeners close (a unix socket file is removed), what the kernel
already holds from clients is read until they are quiet, every framer gives up its rest
(a last message without its newline is a message), everything pending goes to the
queue (waiting for room), then the clients are closed. A reload binds the addresses
again (SO_REUSEADDR): clients are disconnected and reconnect; nothing is handed over.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any

from logproc.errors import StartupError
from logproc.log import get_logger
from logproc.sources.base import Source, SourceStats, SourceStatus
from logproc.sources.syslog.batcher import Batcher
from logproc.sources.syslog.connections import Conn
from logproc.sources.syslog.framing import trim
from logproc.sources.syslog.listeners import Address, bind, file_id, peer_name, unlink_unix

if TYPE_CHECKING:
    from logproc.pipeline.queue import BatchQueue
    from logproc.sources.syslog.config import SyslogSourceConfig

log = get_logger("source")

STOP_SECONDS = 10.0  # how long a stop may wait for room in the queue before it counts losses
QUIET_SECONDS = 0.05  # at stop, clients are read until none sends for this long
DATAGRAMS_PER_EVENT = 256  # datagrams read from one socket per readable event


class Listener:
    """A bound socket: a TCP listener or a datagram socket (UDP, unix)."""

    __slots__ = ("addr", "ident", "sock", "stream")

    def __init__(self, addr: Address, sock: socket.socket, stream: str) -> None:
        self.addr = addr
        self.sock = sock
        self.stream = stream  # datagrams: one queue stream per listener
        self.ident = file_id(addr.path) if addr.scheme == "unix" else None

    def close(self) -> None:
        if self.ident is not None:
            unlink_unix(self.addr.path, self.ident)
        with contextlib.suppress(OSError):
            self.sock.close()


def bind_all(name: str, cfg: SyslogSourceConfig) -> list[Listener]:
    """Every listen address bound; on an error, those bound so far are closed again."""
    out: list[Listener] = []
    for addr in cfg.addresses:
        try:
            sock = bind(addr)
        except OSError as exc:
            for lst in out:
                lst.close()
            why = exc.strerror or str(exc)
            raise StartupError(f"source {name!r}: cannot listen on {addr}: {why}") from None
        out.append(Listener(addr, sock, f"{name}/{addr}"))
    return out


class SyslogSource(Source):
    kind = "syslog"

    def __init__(self, name: str, cfg: SyslogSourceConfig, queue: BatchQueue, budget: int = 1024,
                 stats: SourceStats | None = None) -> None:
        super().__init__(name, cfg, stats)
        self.listeners = bind_all(name, cfg)
        self.tls: ssl.SSLContext | None = None
        if cfg.tls is not None:
            try:
                self.tls = cfg.tls.server_context()
            except (OSError, ValueError) as exc:
                for lst in self.listeners:
                    lst.close()
                raise StartupError(f"source {name!r}: cannot use tls: {exc}") from None
        self.batcher = Batcher(name, cfg.priority, queue, self.stats)
        self.max_clients = max(1, budget - len(self.listeners))
        self.conns: dict[int, Conn] = {}  # fd -> client
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._buf = bytearray(max(cfg.max_message_bytes + 1, 65536))

    # -- lifecycle -----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop and wait (up to STOP_SECONDS and a little) until what was received is queued."""
        super().stop()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(STOP_SECONDS + 2)

    def status(self) -> SourceStatus:
        n = len(self.conns)
        return SourceStatus(watched=n, open_files=n + len(self.listeners), unit="clients")

    def close(self) -> None:
        for lst in self.listeners:
            lst.close()

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        sel = self._sel
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        for lst in self.listeners:
            sel.register(lst.sock, selectors.EVENT_READ, lst)
        self.ready.set()
        try:
            while not self.stopping and not self.batcher.closed:
                due = self.batcher.next_due()
                timeout = 0.01 if self.batcher.blocked else due
                for key, _ in sel.select(timeout):
                    self._event(key.data)
                self.batcher.flush()
                if not self.batcher.blocked:
                    self._resume()
            self._finish()
        finally:
            for c in self.conns.values():
                c.close()
            self.conns.clear()
            for lst in self.listeners:
                lst.close()
            sel.close()
            self._wake_r.close()
            self._wake_w.close()

    def _event(self, what: Any) -> None:
        if what is None:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        elif isinstance(what, Conn):
            self._read(what)
        elif what.addr.scheme == "tcp":
            self._accept(what)
        else:
            self._datagrams(what)

    def _accept(self, lst: Listener) -> None:
        for _ in range(64):
            try:
                sock, addr = lst.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE, ECONNABORTED: the next event tries again
                log.warning("cannot accept a client", source=self.name, listen=str(lst.addr), error=str(exc))
                return
            peer = peer_name("tcp", addr)
            if len(self.conns) >= self.max_clients:
                log.warning("too many clients; connection closed", source=self.name, peer=peer,
                            clients=len(self.conns))
                sock.close()
                continue
            sock.setblocking(False)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            conn = Conn(sock, peer, f"{self.name}/{peer}", self.cfg.framing, self.cfg.max_message_bytes)
            self.conns[sock.fileno()] = conn
            self._sel.register(sock, selectors.EVENT_READ, conn)

    def _read(self, conn: Conn) -> None:
        cut = conn.framer.cut
        msgs, ended = conn.read()
        self.stats.pieces += conn.framer.cut - cut
        if msgs:
            p = self.batcher.add(conn.stream, conn.peer, msgs)
            if self.batcher.full(p) and not self.batcher.flush() and not self.stopping:
                conn.paused = True  # backpressure: not read until its batch is queued
                self._sel.unregister(conn.sock)
        if ended:
            if conn.refused:
                log.warning("client refused", source=self.name, peer=conn.peer, reason=conn.refused)
            self._drop(conn)

    def _drop(self, conn: Conn) -> None:
        self.conns.pop(conn.sock.fileno(), None)
        if not conn.paused:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(conn.sock)
        conn.close()

    def _resume(self) -> None:
        """Clients paused by a full queue are read again (at once: TLS may hold bytes)."""
        for conn in [c for c in self.conns.values() if c.paused]:
            conn.paused = False
            self._sel.register(conn.sock, selectors.EVENT_READ, conn)
            self._read(conn)
            if self.batcher.blocked:
                return

    def _datagrams(self, lst: Listener) -> None:
        scheme, buf, limit = lst.addr.scheme, self._buf, self.cfg.max_message_bytes
        view = memoryview(buf)
        st = self.stats
        for _ in range(DATAGRAMS_PER_EVENT):
            try:
                n, addr = lst.sock.recvfrom_into(buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if n > limit:
                n = limit
                st.pieces += 1
            msg = trim(bytes(view[:n]))
            peer = str(lst.addr) if scheme == "unix" else peer_name(scheme, addr)
            key = (lst.stream, peer)
            p = self.batcher.pending.get(key)
            if p is not None and self.batcher.full(p) and not self.batcher.flush():
                st.lines += 1
                st.dropped["receiver_full"] = st.dropped.get("receiver_full", 0) + 1
                continue
            self.batcher.add(lst.stream, peer, [msg])

    # -- stopping ------------------------------------------------------------------------
    def _finish(self) -> None:
        """Close the listeners, read what clients already sent, queue everything."""
        deadline = time.monotonic() + STOP_SECONDS
        sel = self._sel
        for lst in self.listeners:
            if lst.addr.scheme == "tcp":
                self._accept(lst)  # clients already connected (in the backlog) are read too
                sel.unregister(lst.sock)
                lst.close()
        for conn in self.conns.values():
            if conn.paused:
                conn.paused = False
                sel.register(conn.sock, selectors.EVENT_READ, conn)
        quiet_until = min(deadline, time.monotonic() + 2.0)
        while not self.batcher.closed and time.monotonic() < quiet_until:
            events = sel.select(QUIET_SECONDS)
            if not events:
                break
            for key, _ in events:
                self._event(key.data)
            self.batcher.flush()
        for conn in list(self.conns.values()):
            rest = conn.finish()
            if rest:
                self.batcher.add(conn.stream, conn.peer, rest)
        self.batcher.drain(deadline)
        for lst in self.listeners:
            lst.close()
