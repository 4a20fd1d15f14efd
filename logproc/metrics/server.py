"""The metrics HTTP server: `/metrics` and `/health` on `daemon.metrics_address`.

One asyncio event loop in one daemon thread ("metrics-http") serves every connection: a
connection costs a socket and a task, never a thread. `routes` maps a path to its handler:
- `GET /metrics`: the private registry in the text exposition format (OpenMetrics when the
  scraper asks for it in `Accept`); 500 if collecting failed (logged).
- `GET /health`: 200 `{"status": "ok", "phase": "running"}` while `owner.problems()` is
  empty (every thread alive, nothing stuck: see `logproc.daemon.liveness`; no sink whose
  destination refuses every entry); otherwise 503
  `{"status": "unhealthy", "phase": ..., "problems": [...]}`, with `"status": "draining"`
  while the daemon drains at shutdown.
- Any other path: 404; a method other than GET/HEAD: 405 (`Allow: GET, HEAD`).
HEAD answers GET's head alone. Answers are HTTP/1.1 with `Content-Length`, `Cache-Control:
no-store`, `Server: logproc` and `Connection: close`: one request per connection (keep-alive
gains a scrape every few seconds nothing, and an idle kept-alive connection is one more
state to time out). Request bodies are not read.

Limits: `MAX_CONNECTIONS` (256) at once, past which a new connection is closed at once,
unanswered, and counted (`rejected`); `REQUEST_TIMEOUT` (5 s) for the whole request head,
however slowly it trickles in, and again for sending the answer; `MAX_HEAD_BYTES` (16 KiB)
for the head, past which 431; a malformed request line or header: 400. `stop()` closes
every connection within about `STOP_TIMEOUT` (1 s).

Logged (component "metrics"): "serving metrics", an error when collecting fails, and ONE
debug line `client dropped` (`peer`, `reason`) for a client that resets, times out, sends a
bad head or comes past the cap; never a traceback. A client that closes before sending a
byte (a port probe) is not logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

import orjson
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from logproc.log import get_logger

log = get_logger("metrics")

REQUEST_TIMEOUT = 5.0  # seconds for a client's whole request head, and again for our answer
MAX_HEAD_BYTES = 16 * 1024
MAX_CONNECTIONS = 256
STOP_TIMEOUT = 1.0
BACKLOG = 128  # connections the kernel completes before we accept them
TEXT = "text/plain; charset=utf-8"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: a method, a header name

# Why asyncio and not a pool of handler threads: a pool has a fixed number of handlers, and
# clients holding connections open (idle, or trickling a byte a second) would occupy them all
# while the scrapes and health checks wait behind them. In the loop a held connection costs
# a socket and a small task, bounded by MAX_CONNECTIONS and REQUEST_TIMEOUT.


def split_address(address: str) -> tuple[str, int, socket.AddressFamily]:
    """`host:port` or `[v6]:port` (validated by the config schema) → (host, port, family)."""
    host, _, port = address.rpartition(":")
    if host.startswith("["):
        return host[1:-1], int(port), socket.AF_INET6
    return host, int(port), socket.AF_INET


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # names lower-cased


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = TEXT
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]


class _Refused(Exception):
    """A head answered with the error status `args[0]`; `args[1]` is the reason logged."""


async def _read_head(reader: asyncio.StreamReader) -> Request:
    """Read and parse a request head. IncompleteReadError when the client closes first
    (`partial` empty if it sent nothing); _Refused when it is too large or malformed."""
    lines: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readline()  # ValueError past the reader's limit, MAX_HEAD_BYTES
        except ValueError:
            raise _Refused(431, "head too large") from None
        size += len(line)
        if size > MAX_HEAD_BYTES:
            raise _Refused(431, "head too large")
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(b"".join(lines) + line, None)
        if line := line.rstrip(b"\r\n"):
            lines.append(line)
        elif lines:  # the end of the head (blank lines before the request line are skipped)
            break
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[2].startswith("HTTP/1."):
        raise _Refused(400, "malformed request line")
    headers: dict[str, str] = {}
    for raw in lines[1:]:
        name, colon, value = raw.decode("latin-1").partition(":")
        if not colon or not _TOKEN.fullmatch(name):  # folded continuation lines included
            raise _Refused(400, "malformed header")
        headers[name.lower()] = value.strip(" \t")
    path, _, query = parts[1].partition("?")
    return Request(parts[0], path, query, headers)


class MetricsServer:
    """Bound at construction (so a taken port fails before the pipeline starts), serving
    once `serve(owner)` is called, stopped by `stop()`."""

    def __init__(self, address: str, registry: CollectorRegistry) -> None:
        host, port, family = split_address(address)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart past TIME_WAIT
            self._sock.bind((host, port))
            self._sock.listen(BACKLOG)
        except OSError:
            self._sock.close()
            raise
        self.address = address
        self.port: int = self._sock.getsockname()[1]
        self.registry = registry
        self.owner: Any = None
        self.rejected = 0  # connections closed unanswered past MAX_CONNECTIONS
        # path -> handler: a later route (a status page, a stream of live entries) is one line
        self.routes: dict[str, Handler] = {"/metrics": self._metrics, "/health": self._health}
        self._open: set[asyncio.StreamWriter] = set()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def serve(self, owner: Any) -> None:
        """Answer requests from now on; `owner` has `phase` and `problems()` (a Supervisor)."""
        self.owner = owner
        self._loop = loop = asyncio.new_event_loop()
        # Collecting (a few ms; reads /proc and the sources' files) runs in a pool of 2 threads
        # (a scrape and a retry, or two scrapers; more wait), so the loop answers /health and
        # times clients out meanwhile, even while a collect hangs (which cannot hold the exit
        # up: the daemon ends with os._exit).
        loop.set_default_executor(ThreadPoolExecutor(2, thread_name_prefix="metrics-collect"))
        self._thread = threading.Thread(target=self._main, args=(loop,), name="metrics-http", daemon=True)
        self._thread.start()
        log.info("serving metrics", address=self.address, port=self.port)

    def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(STOP_TIMEOUT + 1)
            self._thread = None
        self._sock.close()

    # -- the loop ----------------------------------------------------------------------
    def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_until_complete(self._run())
        except Exception as exc:
            log.error("metrics server failed", error=str(exc))
        finally:
            loop.close()  # shuts the collect pool down without waiting for it

    async def _run(self) -> None:
        # asyncio's own reports (accept failing for want of descriptors, …): one line each
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: log.warning(
            "metrics server: " + str(ctx.get("message")), error=str(ctx.get("exception", ""))))
        server = await asyncio.start_server(self._client, sock=self._sock, limit=MAX_HEAD_BYTES,
                                            backlog=BACKLOG)
        await self._stopping.wait()
        server.close()
        for writer in list(self._open):
            writer.transport.abort()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if len(self._open) >= MAX_CONNECTIONS:
            self.rejected += 1
            writer.transport.abort()
            log.debug("client dropped", peer=peer, reason="connection cap", rejected=self.rejected)
            return
        self._open.add(writer)
        reason: str | None = None
        try:
            reason = await self._exchange(reader, writer)
            writer.close()
            async with asyncio.timeout(REQUEST_TIMEOUT):  # the rest of the answer, once sent
                await writer.wait_closed()
        except TimeoutError:
            reason = "timeout"
        except asyncio.IncompleteReadError as exc:
            reason = "closed mid-request" if exc.partial else None
        except OSError as exc:  # reset, broken pipe, …
            reason = exc.strerror or type(exc).__name__
        except asyncio.CancelledError:  # stop(): end quietly (asyncio reports a task that raises)
            reason = None
        except Exception as exc:  # a bug of ours: one line, this connection ends, the server goes on
            log.error("metrics request failed", peer=peer, error=repr(exc))
        finally:
            self._open.discard(writer)
            writer.transport.abort()  # a no-op once closed
        if reason:
            log.debug("client dropped", peer=peer, reason=reason)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str | None:
        """Read one request and answer it; the reason to log when it was refused."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                request = await _read_head(reader)
        except _Refused as exc:
            status, reason = exc.args
            await _send(writer, "GET", Response(status, f"{HTTPStatus(status).phrase}\n".encode()))
            return str(reason)
        handler = self.routes.get(request.path)
        if request.method not in ("GET", "HEAD"):
            response = Response(405, b"method not allowed\n", headers={"Allow": "GET, HEAD"})
        elif handler is None:
            response = Response(404, b"not found\n")
        else:
            response = await handler(request)
        await _send(writer, request.method, response)
        return None

    # -- routes ------------------------------------------------------------------------
    async def _metrics(self, request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        try:
            body = await asyncio.get_running_loop().run_in_executor(None, encoder, self.registry)
        except Exception as exc:
            log.exception("collecting metrics failed", error=str(exc))
            return Response(500, b"collecting metrics failed\n")
        return Response(200, body, content_type)

    async def _health(self, _request: Request) -> Response:
        owner = self.owner
        phase = getattr(owner.phase, "value", str(owner.phase))
        try:
            problems = list(owner.problems())  # reads thread states: quick, so in the loop
        except Exception as exc:  # a health check must answer, whatever broke
            problems = [f"health check failed: {exc}"]
        if phase != "running":
            body: dict[str, Any] = {"status": "draining" if phase in ("draining", "stopped") else phase,
                                    "phase": phase, "problems": problems}
            code = 503
        elif problems:
            body, code = {"status": "unhealthy", "phase": phase, "problems": problems}, 503
        else:
            body, code = {"status": "ok", "phase": phase}, 200
        return Response(code, orjson.dumps(body) + b"\n", "application/json")


async def _send(writer: asyncio.StreamWriter, method: str, response: Response) -> None:
    head = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}", "Server: logproc",
            f"Date: {formatdate(usegmt=True)}", f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}", "Cache-Control: no-store", "Connection: close",
            *(f"{k}: {v}" for k, v in response.headers.items()), "", ""]
    writer.write("\r\n".join(head).encode("latin-1") + (b"" if method == "HEAD" else response.body))
    async with asyncio.timeout(REQUEST_TIMEOUT):
        await writer.drain()
