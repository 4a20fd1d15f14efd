"""The metrics HTTP server of the real `logproc run` under hostile clients: held idle
connections cost no thread and do not keep scrapes waiting, clients that reset leave one
JSON debug line each (no traceback), a slow client is cut off at the request deadline,
connections past the cap are closed at once, and the answers are exact HTTP/1.1."""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import orjson
import pytest

from logproc.metrics.server import MAX_CONNECTIONS, MAX_HEAD_BYTES, REQUEST_TIMEOUT
from logproc.testing import Daemon, wait_for
from tests.e2e.test_metrics import free_port, get

pytestmark = pytest.mark.e2e

CONFIG = """
[daemon]
state_dir = "{{work}}/state"
metrics_address = "{address}"
watch_config = false
checkpoint_interval = 0.2
log_level = "{level}"

[sources.app]
paths = ["{{work}}/logs/*.log"]

[sinks.out]
type = "file"
path = "{{work}}/out/all.log"
"""
THREAD_MARGIN = 2  # the collect pool's second worker, and one to spare


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextmanager
def daemon(write_config, level: str = "info", host: str = "127.0.0.1") -> Iterator[tuple[Daemon, int]]:
    port = free_port()
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cfg = write_config(CONFIG.format(address=address, level=level))
    with Daemon(cfg) as d:
        d.wait_started()
        yield d, port


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection((host, port), timeout=5)


def closed_by_server(s: socket.socket, timeout: float) -> bool:
    """Whether the server closed `s` (EOF or reset) within `timeout` seconds."""
    if not select.select([s], [], [], timeout)[0]:
        return False
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True


def exchange(port: int, request: bytes, host: str = "127.0.0.1") -> bytes:
    """Send `request` raw and read the answer until the server closes the connection."""
    with connect(port, host) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


def json_lines(log: str) -> list[dict]:
    """Every stderr line, parsed: each must be one JSON object."""
    docs = []
    for line in log.splitlines():
        try:
            docs.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise AssertionError(f"not a JSON line on stderr: {line!r}") from None
    return docs


def client_lines(log: str) -> list[dict]:
    """The server's lines about dropped clients."""
    return [doc for doc in json_lines(log) if doc.get("component") == "metrics" and doc["event"] == "client dropped"]


@pytest.mark.timeout(60)
def test_held_idle_connections_cost_no_thread(work, write_config):
    """200 connections that send nothing are accepted (200 more descriptors) while the
    thread count stays under baseline + THREAD_MARGIN, and /metrics and /health still
    answer within 2 s each."""
    with daemon(write_config) as (d, port), ExitStack() as held:
        assert get(port, "/metrics")[0] == 200  # the collect pool has its worker now
        base_threads, base_fds = threads(d.pid), fds(d.pid)
        for _ in range(200):
            held.enter_context(connect(port))
        wait_for(lambda: fds(d.pid) >= base_fds + 200, 3, what="the server to accept 200 connections")
        for path, expect in (("/metrics", 200), ("/health", 200)):
            started = time.monotonic()
            status, _ = get(port, path)
            assert status == expect and time.monotonic() - started < 2.0, path
        held_threads = threads(d.pid)
        assert held_threads <= base_threads + THREAD_MARGIN, (base_threads, held_threads)
        assert fds(d.pid) >= base_fds + 200  # all still held: none timed out meanwhile
        print(f"threads: baseline {base_threads}, with 200 held {held_threads}")
        assert d.stop() == 0  # the server closes what it holds: the daemon still exits in order
        json_lines(d.log())


@pytest.mark.timeout(60)
def test_reset_clients_leave_one_json_debug_line_each(work, write_config):
    """20 clients send a partial request and reset (SO_LINGER 0): once the daemon has
    exited, its stderr is JSON lines only, no traceback, exactly one debug line per client."""
    with daemon(write_config, level="debug") as (d, port):
        clients = [connect(port) for _ in range(20)]
        for s in clients:
            s.sendall(b"GET /metr")
        # the server accepts in order: once a later connection is answered, all 20 are its own
        assert get(port, "/health")[0] == 200
        for s in clients:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        wait_for(lambda: len(client_lines(d.log())) >= 20, 5, what="20 client lines")
        assert d.stop() == 0
        log = d.log()
    assert "Traceback" not in log
    lines = client_lines(log)  # parses every line
    assert len(lines) == 20, lines
    assert all(doc["level"] == "debug" and doc["reason"] for doc in lines), lines


@pytest.mark.timeout(60)
def test_a_slow_client_is_cut_off_at_the_request_deadline(work, write_config):
    """One byte a second keeps a per-read timeout from ever firing; the deadline is for the
    whole head: the server closes the connection after REQUEST_TIMEOUT, logging one line."""
    request = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\n\r\n"
    assert len(request) > REQUEST_TIMEOUT + 4
    with daemon(write_config, level="debug") as (d, port), connect(port) as s:
        sent = 0
        started = time.monotonic()

        def cut_off() -> bool:
            nonlocal sent
            try:
                s.send(request[sent:sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                return True
            sent += 1
            return closed_by_server(s, 1.0)  # one byte per second, or the close

        wait_for(cut_off, REQUEST_TIMEOUT + 2, interval=0, what="the server to close the slow client")
        elapsed = time.monotonic() - started
        assert REQUEST_TIMEOUT - 0.5 <= elapsed <= REQUEST_TIMEOUT + 2, elapsed
        assert sent < len(request)
        wait_for(lambda: client_lines(d.log()), 2, what="the timeout line")
        assert [doc["reason"] for doc in client_lines(d.log())] == ["timeout"]


@pytest.mark.timeout(60)
def test_connections_past_the_cap_are_closed_at_once(work, write_config):
    """MAX_CONNECTIONS held: one more is closed unanswered at once (well before the request
    deadline would close it); once a held one goes, requests are answered again."""
    with daemon(write_config, level="debug") as (d, port), ExitStack() as held:
        base_fds = fds(d.pid)
        conns = [held.enter_context(connect(port)) for _ in range(MAX_CONNECTIONS)]
        wait_for(lambda: fds(d.pid) >= base_fds + MAX_CONNECTIONS, 3, what="the cap to be reached")
        started = time.monotonic()
        with connect(port) as extra:
            assert closed_by_server(extra, 2.0)
        assert time.monotonic() - started < REQUEST_TIMEOUT - 2
        assert not any(closed_by_server(s, 0) for s in conns)  # the held ones were kept
        conns[0].close()

        def answered() -> bool:
            try:
                return exchange(port, b"GET /health HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 200 ")
            except ConnectionError:  # still at the cap: closed unanswered
                return False

        wait_for(answered, 2, what="an answer once below the cap")
        capped = [doc for doc in client_lines(d.log()) if doc["reason"] == "connection cap"]
        assert len(capped) >= 1 and capped[0]["rejected"] == 1, capped
        assert d.stop() == 0  # with MAX_CONNECTIONS - 1 still held


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.timeout(60)
@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=pytest.mark.skipif(
    not has_ipv6(), reason="no IPv6 loopback on this machine"))])
def test_exact_answers(work, write_config, host):
    """HTTP/1.1 with Connection: close, the same headers on every answer; HEAD is GET's
    head; 404, 405 (any other method, with Allow), 400 for a malformed request line, 431
    for a head over MAX_HEAD_BYTES; each refused request leaves one debug line."""
    with daemon(write_config, level="debug", host=host) as (d, port):
        def ask(request: bytes) -> tuple[bytes, dict[str, str], bytes]:
            head, _, body = exchange(port, request, host).partition(b"\r\n\r\n")
            status, *lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.split(": ", 1) for line in lines)
            assert headers.pop("Date")
            return status.encode(), headers, body

        health = b'{"status":"ok","phase":"running"}\n'
        common = {"Server": "logproc", "Cache-Control": "no-store", "Connection": "close"}
        text = "text/plain; charset=utf-8"
        assert ask(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n") == (
            b"HTTP/1.1 200 OK", {**common, "Content-Type": "application/json",
                                 "Content-Length": str(len(health))}, health)
        assert ask(b"HEAD /health?x=1 HTTP/1.0\r\n\r\n") == (
            b"HTTP/1.1 200 OK", {**common, "Content-Type": "application/json",
                                 "Content-Length": str(len(health))}, b"")
        status, headers, body = ask(b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text\r\n\r\n")
        assert status == b"HTTP/1.1 200 OK" and headers["Content-Type"].startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n") and headers["Content-Length"] == str(len(body))
        assert ask(b"GET /nope HTTP/1.1\r\n\r\n") == (
            b"HTTP/1.1 404 Not Found", {**common, "Content-Type": text, "Content-Length": "10"}, b"not found\n")
        for method in (b"POST", b"BREW"):
            assert ask(method + b" /metrics HTTP/1.1\r\n\r\n") == (
                b"HTTP/1.1 405 Method Not Allowed",
                {**common, "Content-Type": text, "Content-Length": "19", "Allow": "GET, HEAD"},
                b"method not allowed\n")
        assert ask(b"GARBAGE\r\n\r\n")[0] == b"HTTP/1.1 400 Bad Request"
        big = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(MAX_HEAD_BYTES // 1000 + 1))
        assert ask(b"GET /health HTTP/1.1\r\n" + big + b"\r\n")[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
        assert d.stop() == 0
        log = d.log()
    assert [doc["reason"] for doc in client_lines(log)] == ["malformed request line", "head too large"]
