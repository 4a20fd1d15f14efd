"""The metrics HTTP server: `/metrics` and `/health` on `daemon.metrics_address`.

A stdlib `ThreadingHTTPServer` in a daemon thread (a scrape never holds the process up at
exit); each request gets its own short-lived thread with a 10 s socket timeout, so a
client that stalls cannot block the next scrape.

- `GET /metrics`: the private registry in the text exposition format (OpenMetrics when
  the scraper asks for it in `Accept`); 500 if collecting failed (logged).
- `GET /health`: 200 `{"status": "ok", "phase": "running"}` while `owner.problems()` is
  empty (every thread alive, nothing stuck: see `logproc.daemon.liveness`); otherwise
  503 `{"status": "unhealthy", "phase": ..., "problems": [...]}`. While the daemon drains
  at shutdown it answers 503 with `"status": "draining"`.
- Anything else: 404; methods other than GET/HEAD: 405.

The server's own access log is silenced: stderr carries the daemon's structured log only.
"""

from __future__ import annotations

import http.server
import socket
import threading
from typing import Any

import orjson
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from logproc.log import get_logger

log = get_logger("metrics")

REQUEST_TIMEOUT = 10.0  # seconds a client may take to send its request


def split_address(address: str) -> tuple[str, int, socket.AddressFamily]:
    """`host:port` or `[v6]:port` (validated by the config schema) → (host, port, family)."""
    host, _, port = address.rpartition(":")
    if host.startswith("["):
        return host[1:-1], int(port), socket.AF_INET6
    return host, int(port), socket.AF_INET


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: Any
    registry: CollectorRegistry


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT

    def version_string(self) -> str:
        return "logproc"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/health":
            self._health()
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    do_HEAD = do_GET

    def _not_allowed(self) -> None:
        self._send(405, b"method not allowed\n", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _metrics(self) -> None:
        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        try:
            body = encoder(self.server.registry)
        except Exception as exc:
            log.exception("collecting metrics failed", error=str(exc))
            self._send(500, b"collecting metrics failed\n", "text/plain; charset=utf-8")
            return
        self._send(200, body, content_type)

    def _health(self) -> None:
        owner = self.server.owner
        phase = getattr(owner.phase, "value", str(owner.phase))
        try:
            problems = list(owner.problems())
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
        self._send(code, orjson.dumps(body) + b"\n", "application/json")

    def _send(self, code: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class MetricsServer:
    """Bound at construction (so a taken port fails before the pipeline starts), serving
    once `serve(owner)` is called, stopped by `stop()`."""

    def __init__(self, address: str, registry: CollectorRegistry) -> None:
        host, port, family = split_address(address)
        cls = type("_BoundServer", (_Server,), {"address_family": family})
        self.httpd: _Server = cls((host, port), _Handler, bind_and_activate=False)
        self.httpd.registry = registry
        try:
            self.httpd.server_bind()
            self.httpd.server_activate()
        except OSError:
            self.httpd.server_close()
            raise
        self.address = address
        self.port: int = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def serve(self, owner: Any) -> None:
        """Answer requests from now on; `owner` has `phase` and `problems()` (a Supervisor)."""
        self.httpd.owner = owner
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="metrics-http", daemon=True)
        self._thread.start()
        log.info("serving metrics", address=self.address, port=self.port)

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self.httpd.server_close()
