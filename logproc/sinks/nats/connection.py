"""One NATS connection of the `nats` sink, in the sink thread's own event loop.

nats-py is asyncio-only: the sink's thread owns one event loop (created in that thread on
its first write) and every coroutine of the connection runs on it. Decisions:

- The sink owns reconnecting. nats-py is asked to try each server of the list twice when
  connecting (a cluster: any of them will do) and to give up on a lost connection soon
  after (`max_reconnect_attempts = 1`); the sink then drops the connection and connects
  anew on its next attempt, after its own backoff. One retry policy, the sink's.
- No buffering while disconnected (`pending_size = 0`): a publish then fails at once
  instead of sitting in a buffer that a reconnect might send after the sink retried it.
- `lost` is a future set when the connection drops, so a wait for acknowledgements ends
  then, not at its timeout.
- TLS: a `tls` table gives the context (`TlsConfig.client_context`), a `tls://` URL
  without one uses the system's CAs. nats-py upgrades when the server's INFO requires
  TLS; a connection asked for TLS to a server that does not require it is refused here
  (never plaintext by surprise).
- nats-py's own error callback logs tracebacks; ours keeps the latest error for the
  sink's message instead. Credentials (the .creds file, user-info) never reach a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import nats
from nats.aio.client import Client

from logproc.sinks.nats.config import urls_of

CONNECT_ATTEMPT_WAIT = 0.2  # seconds between two connection attempts to one server


class Unavailable(Exception):
    """No server could be reached (or the connection was lost)."""


class Connection:
    """A connected client and the signals the publishers wait on."""

    def __init__(self, client: Client, lost: asyncio.Future[None]) -> None:
        self.client = client
        self.lost = lost

    @property
    def usable(self) -> bool:
        return self.client.is_connected and not self.lost.done()

    async def close(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError, OSError, nats.errors.Error):
            await asyncio.wait_for(self.client.close(), timeout)


def tls_context(cfg: Any) -> ssl.SSLContext | None:
    """The client context: from the `tls` table, else the system's for tls:// URLs."""
    if cfg.tls is not None:
        context: ssl.SSLContext = cfg.tls.client_context()
        return context
    if any(u.startswith("tls://") for u in urls_of(cfg)):
        return ssl.create_default_context()
    return None


async def connect(cfg: Any, name: str, context: ssl.SSLContext | None) -> Connection:
    """Connect to one of the configured servers, or raise `Unavailable` saying why (nats-py's
    messages name servers, never credentials)."""
    loop = asyncio.get_running_loop()
    lost: asyncio.Future[None] = loop.create_future()
    errors: list[str] = []

    def drop() -> None:
        if not lost.done():
            lost.set_result(None)

    async def on_error(exc: Exception) -> None:
        errors.append(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    async def on_disconnect() -> None:
        drop()

    options: dict[str, Any] = {
        "servers": urls_of(cfg), "name": f"logproc {name}", "connect_timeout": cfg.timeout,
        "allow_reconnect": True, "max_reconnect_attempts": 1,
        "reconnect_time_wait": CONNECT_ATTEMPT_WAIT, "pending_size": 0,
        "error_cb": on_error, "disconnected_cb": on_disconnect, "closed_cb": on_disconnect,
    }
    if context is not None:
        options["tls"] = context
        if cfg.tls is not None and cfg.tls.server_name:
            options["tls_hostname"] = cfg.tls.server_name
    if cfg.credentials_file is not None:
        options["user_credentials"] = cfg.credentials_file
    try:
        client = await nats.connect(**options)
    except Exception as exc:  # refused, timed out, TLS, an unreadable .creds file: all retried
        raise Unavailable(errors[-1] if errors else f"{type(exc).__name__}: {exc}") from None
    conn = Connection(client, lost)
    if context is not None and not _encrypted(client):
        await conn.close(cfg.timeout)
        raise Unavailable("TLS was asked for, but the server does not require it (its INFO says "
                          "tls_required = false): refusing to send in plain text")
    return conn


def _encrypted(client: Client) -> bool:
    # nats-py exposes no public "is TLS" flag; the server's INFO it acted on is the truth
    info = getattr(client, "_server_info", None)
    return not isinstance(info, dict) or bool(info.get("tls_required"))
