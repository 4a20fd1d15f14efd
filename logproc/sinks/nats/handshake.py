"""Opening the `nats` sink's connection: a server of the configured ones, TCP, TLS,
CONNECT with the credentials.

Contract (`connect`): every configured server is tried (shuffled: a cluster's clients
spread), twice each, `CONNECT_ATTEMPT_WAIT` apart, each attempt within `timeout`: TCP, the
server's INFO, TLS when the server requires it (the `tls` table's context, else the
system's CAs; the name checked is `tls.server_name` or the URL's host), CONNECT, and a PING
answered by PONG (an -ERR such as "Authorization Violation" fails it); with JetStream, the
subscription to the reply inbox. A connection asked for TLS (a `tls` table, a tls:// URL)
to a server that does not require it is refused: never plain text by surprise. Every
failure (refused, timed out, TLS, credentials, an unreadable .creds file) raises
`Unavailable` saying why (naming the server, without its user-info, when there are
several): the sink retries. The runner's abort (`stop()`) ends it at once (`Aborted`).
"""

from __future__ import annotations

import errno
import os
import random
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from logproc.sinks.nats.config import urls_of
from logproc.sinks.nats.connection import Aborted, Connection, Unavailable, pause, ready
from logproc.sinks.nats.protocol import Server, connect_command, connect_options

CONNECT_ATTEMPT_WAIT = 0.2  # seconds between two rounds of connection attempts


def tls_context(cfg: Any) -> ssl.SSLContext | None:
    """The client context: from the `tls` table, else the system's for tls:// URLs."""
    if cfg.tls is not None:
        context: ssl.SSLContext = cfg.tls.client_context()
        return context
    if any(u.startswith("tls://") for u in urls_of(cfg)):
        return ssl.create_default_context()
    return None


def connect(cfg: Any, name: str, context: ssl.SSLContext | None, stop: Callable[[], bool],
            alive: Callable[[float], None]) -> Connection:
    """Connect to one of the configured servers (see the module doc); `alive(until)` is
    called before each attempt with the time it and the first acknowledgements may take."""
    servers = [Server.of(url) for url in urls_of(cfg)]
    random.shuffle(servers)
    why = ""
    for round_ in range(2):
        if round_:
            pause(CONNECT_ATTEMPT_WAIT, stop)
        for server in servers:
            deadline = time.monotonic() + cfg.timeout
            alive(deadline + cfg.timeout)
            try:
                return _connect_to(server, cfg, name, context, stop, deadline)
            except Aborted:
                raise
            except Exception as exc:  # refused, timed out, TLS, credentials: all retried
                why = f"{server}: {_reason(exc)}" if len(servers) > 1 else _reason(exc)
    raise Unavailable(why)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ssl.SSLError):
        return exc.strerror
    return str(exc) or type(exc).__name__


def _connect_to(server: Server, cfg: Any, name: str, context: ssl.SSLContext | None,
                stop: Callable[[], bool], deadline: float) -> Connection:
    conn = Connection(_tcp(server, deadline, stop), server, cfg.timeout, stop)
    try:
        while not conn.info:
            if not conn.usable or time.monotonic() >= deadline:
                raise Unavailable(conn.broken or f"no INFO from the server within {cfg.timeout:g}s")
            conn.receive(deadline)
        if conn.info.get("tls_required"):
            hostname = cfg.tls.server_name if cfg.tls is not None and cfg.tls.server_name else server.host
            conn.start_tls(context or ssl.create_default_context(), hostname, deadline)
        elif context is not None:
            raise Unavailable("TLS was asked for, but the server does not require it (its INFO says "
                              "tls_required = false): refusing to send in plain text")
        options = connect_options(conn.info, server, f"logproc {name}", context is not None or
                                  bool(conn.info.get("tls_required")), cfg.credentials_file)
        conn.send(connect_command(options), deadline)
        if not conn.ping(deadline):
            raise Unavailable(conn.error or conn.broken or f"no answer to CONNECT within {cfg.timeout:g}s")
        if cfg.jetstream:
            conn.subscribe(deadline)
    except BaseException:
        conn.close()
        raise
    return conn


def _tcp(server: Server, deadline: float, stop: Callable[[], bool]) -> socket.socket:
    error: OSError = OSError(errno.EHOSTUNREACH, f"no address for {server.host}")
    for family, kind, proto, _, address in socket.getaddrinfo(server.host, server.port,
                                                              type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EAGAIN):
            try:
                code = (sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if ready(sock, select.POLLOUT, deadline, stop) else errno.ETIMEDOUT)
            except Aborted:
                sock.close()
                raise
        if code == 0:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        sock.close()
        error = OSError(code, "connection timed out" if code == errno.ETIMEDOUT else os.strerror(code))
    raise error
