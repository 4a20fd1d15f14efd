"""Test helpers shipped with the package (like `structlog.testing`): the numbered-line
oracle, a log writer that can rotate and truncate, and a harness that runs the real
`logproc` command.

The oracle follows rsyslog's `chkseq`: every written line carries `seq=<n>`; the checker
reports the numbers missing and those delivered more than once, and fails unless each is
within its budget (both default to zero).

Also here: `HttpTestServer` (a loopback HTTP(S) server with scripted faults) for the http
sink, and `FakeElasticsearch` on it (a `_bulk` endpoint that keeps documents and refuses
a `create` of an `_id` it has, as Elasticsearch does). Environment seams the daemon reads, for tests only:
- `LOGPROC_STALL_SECONDS`: how long a thread may sit in one call before the watchdog and
  `/health` call it stuck (default 60);
- `LOGPROC_EVENTS=off`: no filesystem events (no inotify watches): only the periodic stat
  pass finds new files and changes, as when inotify overflows or is unavailable;
- `LOGPROC_FAULT=consumer-exit`: the first consumer thread ends after its first batch, as a
  bug would end it (for `/health` and the watchdog to notice).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEQ = re.compile(rb"seq=(\d+)")


# -- the numbered-line oracle ------------------------------------------------------------
@dataclass
class SeqReport:
    expected: int
    received: int
    missing: list[int] = field(default_factory=list)
    duplicated: dict[int, int] = field(default_factory=dict)  # seq -> extra copies
    unexpected: list[int] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(self.duplicated.values())

    def summary(self) -> str:
        def head(xs: Iterable[int]) -> str:
            xs = sorted(xs)
            return ", ".join(map(str, xs[:10])) + (" …" if len(xs) > 10 else "")

        return (f"expected {self.expected}, received {self.received}; missing {len(self.missing)}"
                f" [{head(self.missing)}]; duplicates {self.duplicates} [{head(self.duplicated)}];"
                f" unexpected {len(self.unexpected)} [{head(self.unexpected)}]")


def check_sequence(data: bytes | Iterable[bytes], expected: Iterable[int] | int,
                   allow_missing: int = 0, allow_dups: int = 0) -> SeqReport:
    """Check delivered output against the numbers written; raise AssertionError past budgets.

    `data` is the delivered output (bytes, or an iterable of byte chunks); `expected` is
    the set of numbers written, or N for 0..N-1.
    """
    if isinstance(data, bytes | bytearray):
        data = [bytes(data)]
    counts: Counter[int] = Counter()
    for chunk in data:
        counts.update(int(m) for m in SEQ.findall(chunk))
    want = set(range(expected)) if isinstance(expected, int) else set(expected)
    report = SeqReport(
        expected=len(want),
        received=sum(counts.values()),
        missing=sorted(want - counts.keys()),
        duplicated={k: c - 1 for k, c in counts.items() if c > 1},
        unexpected=sorted(counts.keys() - want),
    )
    if len(report.missing) > allow_missing or report.duplicates > allow_dups or report.unexpected:
        raise AssertionError(report.summary())
    return report


def numbered(start: int, count: int, tag: str = "", pad: int = 0) -> bytes:
    """Lines `seq=<n> <tag> <padding>\\n` for n in [start, start+count)."""
    filler = "x" * pad
    return "".join(f"seq={n} {tag} {filler}\n" for n in range(start, start + count)).encode()


# -- writing logs the way applications do -------------------------------------------------
class LogWriter:
    """Appends to a log file like an application: O_APPEND, one write per call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def rotate(self, to: str | os.PathLike[str]) -> None:
        """rename+create: the old name moves to `to`, writes go to a new file at the path."""
        os.rename(self.path, to)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def copytruncate(self, to: str | os.PathLike[str]) -> None:
        with open(self.path, "rb") as src, open(to, "wb") as dst:
            dst.write(src.read())
        os.truncate(self.path, 0)

    def close(self) -> None:
        os.close(self.fd)


# -- running the real command -------------------------------------------------------------
def logproc_cmd() -> list[str]:
    """The command under test: $LOGPROC_CMD, else this interpreter's `-m logproc`."""
    env = os.environ.get("LOGPROC_CMD")
    return env.split() if env else [sys.executable, "-m", "logproc"]


def wait_for(cond: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02,
             what: str = "condition") -> Any:
    """Poll `cond` until truthy (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Daemon:
    """A `logproc run` process with its stderr captured to a file."""

    def __init__(self, config: str | os.PathLike[str], *args: str, env: dict[str, str] | None = None,
                 stdout: Any = subprocess.DEVNULL, log_path: str | os.PathLike[str] | None = None,
                 wrap: list[str] | None = None) -> None:
        self.log_path = Path(log_path or f"{config}.stderr")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log_start = self._log.tell()  # this process's part of a shared log file
        self.proc = subprocess.Popen([*(wrap or []), *logproc_cmd(), "run", "-c", str(config), *args],
                                     stdout=stdout, stderr=self._log, env={**os.environ, **(env or {})})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """What this process wrote to stderr so far."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return f.read().decode(errors="replace")

    def wait_started(self, timeout: float = 20.0) -> None:
        def started() -> bool:
            text = self.log()
            return '"started"' in text or "event='started'" in text or self.proc.poll() is not None

        wait_for(started, timeout, what="logproc to start")
        if self.proc.poll() is not None:
            raise AssertionError(f"logproc exited with {self.proc.returncode}:\n{self.log()}")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        self.proc.kill()
        return self.wait(10)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is not None:
                self._log.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def run_once(config: str | os.PathLike[str], timeout: float = 120.0,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """`logproc run --once -c CONFIG`, captured."""
    return subprocess.run([*logproc_cmd(), "run", "--once", "-c", str(config)], capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


# -- a fault-injecting HTTP server (for the http sink) ------------------------------------
@dataclass
class Reply:
    """What the test server answers one request with; `hang` seconds first (a stop ends it);
    `drop`: no answer at all, the connection is closed (a server that died mid-request)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0
    drop: bool = False


@dataclass
class Received:
    """One request as the test server saw it; `body` is gunzipped when it came gzipped."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    wire_bytes: int  # the body's size on the wire
    at: float = 0.0  # time.monotonic() when it had been read
    status: int = 0  # what it was answered (0: no answer was sent, e.g. it hung)


class HttpTestServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (keep-alive) that records every request and
    injects faults by script.

    - `script`: Replies (or callables `Received -> Reply`) used one per request, in order;
      after it, `respond(received)` decides (default: 200, empty body);
    - `listening=False`: the port is bound but not listening, so connections are refused
      until `start()` (the URL is known before the server is up);
    - `record=False` keeps only counts (for throughput runs);
    - `tls=(certfile, keyfile)` serves HTTPS (the handshake runs in the request's thread).
    Use as a context manager; `stop()` ends hung replies at once.
    """

    def __init__(self, script: Iterable[Any] = (), respond: Callable[[Received], Reply] | None = None,
                 listening: bool = True, record: bool = True, tls: tuple[str, str] | None = None) -> None:
        import http.server
        import ssl
        import threading

        self.script: list[Any] = list(script)
        self.respond = respond or (lambda _r: Reply())
        self.record = record
        self.received: list[Received] = []
        self.count = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner._handle(self)

            do_PUT = do_POST

            def setup(self) -> None:
                if tls:
                    self.request.do_handshake()  # a refused handshake ends this connection only
                super().setup()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that hang up or refuse our certificate are part of the tests

        self.server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        if listening:
            self.start()

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        """Start listening (and answering)."""
        import threading

        self.server.server_activate()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-test-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(10)
        self.server.server_close()

    def __enter__(self) -> HttpTestServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what came ---------------------------------------------------------------------
    def bodies(self, ok_only: bool = True) -> list[bytes]:
        """The bodies received (by default only those answered 2xx), in arrival order."""
        with self._lock:
            return [r.body for r in self.received if not ok_only or 200 <= r.status < 300]

    def wait_requests(self, n: int, timeout: float = 30.0) -> list[Received]:
        wait_for(lambda: self.count >= n, timeout, what=f"{n} requests")
        with self._lock:
            return list(self.received)

    def _handle(self, h: Any) -> None:
        import gzip

        length = int(h.headers.get("Content-Length") or 0)
        wire = h.rfile.read(length)
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = gzip.decompress(wire) if headers.get("content-encoding") == "gzip" else wire
        rec = Received(h.command, h.path, headers, body if self.record else b"", len(wire), time.monotonic())
        with self._lock:
            self.count += 1
            step = self.script.pop(0) if self.script else self.respond
            if self.record:
                self.received.append(rec)
        reply = step(rec) if callable(step) else step
        if reply.hang and self._stopping.wait(reply.hang):
            return
        if reply.drop:
            h.close_connection = True
            return
        rec.status = reply.status  # before the answer: whoever sees the answer sees the status
        try:
            h.send_response(reply.status)
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(reply.body)))
            h.end_headers()
            h.wfile.write(reply.body)
            h.wfile.flush()
        except OSError:
            rec.status = 0  # the client gave up (timed out) before the answer


class FakeElasticsearch:
    """A loopback Elasticsearch `_bulk` endpoint (on `HttpTestServer`, `url`): documents are
    kept per index (`documents()`); an `_id` is unique in its index, so a `create` of one it
    has gets a 409 item (`version_conflict_engine_exception`, `"errors": true`) and is
    counted in `conflicts`; `index` overwrites; no `_id`: one is made up.

    Faults, one per request in order from `faults`: `"503"` (nothing stored), `"drop"` (the
    connection closed, nothing stored), `"store-drop"` (stored, then the connection closed:
    a lost answer) and `"store-hang"` (stored, the answer held until `stop`; `held` is set:
    the moment to SIGKILL a daemon that waits for it).
    """

    def __init__(self, faults: Iterable[str] = ()) -> None:
        import threading

        self.faults = list(faults)
        self.indices: dict[str, dict[str, dict[str, Any]]] = {}
        self.conflicts = 0
        self.held = threading.Event()
        self._lock = threading.Lock()
        self._auto = 0
        self.server = HttpTestServer(respond=self._bulk)

    def url(self) -> str:
        return self.server.url("/_bulk")

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> FakeElasticsearch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def documents(self) -> list[dict[str, Any]]:
        """Every document kept, each with its `_index` and `_id` added."""
        with self._lock:
            return [{**doc, "_index": index, "_id": doc_id}
                    for index, docs in self.indices.items() for doc_id, doc in docs.items()]

    def _bulk(self, rec: Received) -> Reply:
        import orjson

        with self._lock:
            fault = self.faults.pop(0) if self.faults else ""
        if fault == "503":
            return Reply(503, b'{"error":"unavailable"}')
        if fault == "drop":
            return Reply(drop=True)
        lines = rec.body.splitlines()
        pairs = zip(lines[::2], lines[1::2], strict=True)
        items = [self._apply(orjson.loads(a), orjson.loads(d)) for a, d in pairs]
        errors = any(not 200 <= next(iter(i.values()))["status"] < 300 for i in items)
        body = orjson.dumps({"took": 1, "errors": errors, "items": items})
        if fault == "store-drop":
            return Reply(drop=True)
        if fault == "store-hang":
            self.held.set()
            return Reply(200, body, hang=60.0)
        return Reply(200, body, {"Content-Type": "application/json"})

    def _apply(self, action: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
        op, meta = next(iter(action.items()))
        index = meta["_index"]
        with self._lock:
            docs = self.indices.setdefault(index, {})
            doc_id = meta.get("_id")
            if doc_id is None:
                self._auto += 1
                doc_id = f"auto-{self._auto}"
            if op == "create" and doc_id in docs:
                self.conflicts += 1
                return {op: {"_index": index, "_id": doc_id, "status": 409, "error": {
                    "type": "version_conflict_engine_exception",
                    "reason": f"[{doc_id}]: version conflict, document already exists"}}}
            status = 200 if doc_id in docs else 201
            docs[doc_id] = doc
            return {op: {"_index": index, "_id": doc_id, "result": "created", "status": status}}


# -- systemd's notification socket ----------------------------------------------------------
class NotifySocket:
    """The receiving end of `NOTIFY_SOCKET` (what systemd binds): every datagram logproc
    sends, with its arrival time. `address` is a path, or `@name` in the abstract namespace."""

    def __init__(self, address: str | os.PathLike[str]) -> None:
        import socket

        self.address = os.fspath(address)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.address[1:] if self.address.startswith("@") else self.address)
        self.sock.setblocking(False)
        self.got: list[tuple[float, str]] = []

    @property
    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": self.address}

    def messages(self) -> list[str]:
        """Every message so far, oldest first (reads what arrived since the last call)."""
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return [m for _, m in self.got]
            self.got.append((time.monotonic(), data.decode()))

    def received(self) -> bytes:
        return "\n".join(self.messages()).encode()

    def kinds(self) -> list[str]:
        """Each message as its first key (READY, STATUS, WATCHDOG, STOPPING, RELOADING)."""
        return [m.split("=", 1)[0] for m in self.messages()]

    def pings(self) -> list[float]:
        """Arrival times of the `WATCHDOG=1` pings."""
        self.messages()
        return [t for t, m in self.got if m == "WATCHDOG=1"]

    def close(self) -> None:
        self.sock.close()
