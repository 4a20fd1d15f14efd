"""A sink whose destination refuses everything does not look healthy (issue: "dead letters
look healthy"): an HTTP sink answering 401 to every request used to log one line, keep
`/health` at 200 and count the refused entries as written."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from logproc.testing import Daemon, HttpTestServer, LogWriter, NotifySocket, Reply, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, body = _get(port, "/metrics")
    assert status == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _json_lines(text: str) -> list[dict]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_sink_refusing_everything_is_unhealthy_counted_apart_and_logged(work, write_config):
    """Every request answered 401: `/health` 503 naming the sink and the status, STATUS=
    saying so, the entries counted as dead letters (not written), one log line at once and
    the rest summed (rate-limited); once the server accepts again, healthy again."""
    token_ok = threading.Event()
    server = HttpTestServer(respond=lambda r: Reply(200) if token_ok.is_set()
                            else Reply(401, b'{"error":"invalid token"}'))
    port = _free_port()
    notify = NotifySocket(str(work / "notify.sock"))
    config = write_config(
        f"""
        [daemon]
        state_dir = "{{work}}/state"
        metrics_address = "127.0.0.1:{port}"
        watch_config = false

        [sources.app]
        paths = ["{{work}}/logs/*.log"]

        [sinks.loki]
        type = "http"
        url = "{server.url('/push')}"
        batch_timeout = 0.05
        """
    )
    log = LogWriter(work / "logs" / "app.log")
    with server, Daemon(config, env=notify.env) as d:
        d.wait_started()
        assert _get(port, "/health")[0] == 200
        sent = 0
        for _ in range(4):  # four writes, each refused whole
            log.write(numbered(sent, 50))
            sent += 50
            wait_for(lambda n=sent: sum(r.body.count(b"\n") for r in server.received) >= n, 10,
                     what="the batch to be refused")
        _, body = wait_for(lambda: (r := _get(port, "/health"))[0] == 503 and r, 10,
                                what="/health to turn 503")
        health = orjson.loads(body)
        assert health["status"] == "unhealthy"
        assert health["problems"] == [
            "sink 'loki' refuses every entry (HTTP 401 from the server); they go to the dead-letter file"]
        wait_for(lambda: any("refusing: loki (dead letters)" in m for m in notify.messages()), 10,
                 what="STATUS= naming the refusing sink")
        samples = _samples(port)
        assert _value(samples, "logproc_sink_entries_written_total", sink="loki") == 0
        assert _value(samples, "logproc_entries_dropped_total", reason="dead_letter", sink="loki") == 200
        assert _value(samples, "logproc_sink_refusing", sink="loki") == 1
        assert "WATCHDOG=1" not in "".join(notify.messages())  # no watchdog asked for

        token_ok.set()  # the operator fixed the token
        log.write(numbered(sent, 50))
        wait_for(lambda: _get(port, "/health")[0] == 200, 10, what="/health to recover")
        samples = _samples(port)
        assert _value(samples, "logproc_sink_entries_written_total", sink="loki") == 50
        assert _value(samples, "logproc_sink_refusing", sink="loki") == 0
        assert d.stop() == 0
        text = d.log()
    lines = [e for e in _json_lines(text) if e["event"] == "entries dead-lettered"]
    # the first refusal at once, the other three summed (at most one line per 10 s, and one
    # at shutdown): four refused writes, fewer lines, every entry counted
    assert {(e["sink"], e["status"], e["reason"]) for e in lines} == {("loki", 401, "HTTP 401 from the server")}
    assert lines[0]["entries"] == 50
    assert sum(e["entries"] for e in lines) == 200
    assert len(lines) < 4
    dead = [orjson.loads(x) for x in (work / "state" / "dead-letter.jsonl").read_bytes().splitlines()]
    assert len(dead) == 200
    assert {(x["sink"], x["status"], x["response"]) for x in dead} == {
        ("loki", 401, '{"error":"invalid token"}')}
    notify.close()
