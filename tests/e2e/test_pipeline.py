"""Parsers, transforms, filters and formats through the real command: exact output."""

from __future__ import annotations

import socket

import orjson
import pytest

from logproc.testing import run_once

pytestmark = pytest.mark.e2e

HOST = socket.gethostname()


def test_every_parser_transform_filter_and_format_end_to_end(work, write_config):
    """One `run --once` with a source per parser and sinks per format: exact lines out."""
    logs = work / "logs"
    (logs / "app.json").write_bytes(
        b'{"ts": 1700000000.5, "level": 50, "msg": "payment failed", "user": "ann@example.com",'
        b' "password": "hunter2", "card": "4111 1111 1111 1111"}\n'
        b'{"time": "2024-05-01T10:00:00+02:00", "severity": "WARN", "message": "slow", "host": "web-1"}\n'
        b"not json at all\n"
        b'{"level": "debug", "message": "noise"}\n'
    )
    (logs / "svc.logfmt").write_bytes(
        b'ts=2024-05-01T00:00:00Z lvl=info msg="user logged in" user=bob auth="Bearer abc.def"\n'
    )
    (logs / "access.log").write_bytes(
        b'203.0.113.7 - - [10/Oct/2023:13:55:36 -0700] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"\n'
        b'203.0.113.8 - alice [10/Oct/2023:13:55:37 -0700] "POST /api/orders HTTP/1.1" 502 - '
        b'"https://example.com/" "curl/8.0"\n'
    )
    (logs / "worker.txt").write_bytes(b"E 2024-05-01 job 17 crashed\nI 2024-05-01 job 18 done\n")
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.json"]
        parser = "json"
        rename = { user = "email" }
        drop_fields = ["password"]
        fields = { service = "shop" }
        redact = ["email", "credit_card"]

        [sources.svc]
        paths = ["{work}/logs/*.logfmt"]
        parser = "logfmt"
        redact = ["bearer_token"]

        [sources.web]
        paths = ["{work}/logs/access.log"]
        parser = "combined"

        [sources.worker]
        paths = ["{work}/logs/worker.txt"]
        parser = "regex"
        pattern = '^(?P<level>[EI]) (?P<day>\\S+) (?P<message>.*)$'

        [sinks.json]
        type = "file"
        path = "{work}/out/{source}.jsonl"
        format = "json"
        inputs = ["app", "svc", "web"]

        [sinks.warnings]
        type = "file"
        path = "{work}/out/warnings.logfmt"
        format = "logfmt"
        inputs = ["app"]
        min_level = "warning"

        [sinks.errors_text]
        type = "file"
        path = "{work}/out/web.txt"
        format = "text"
        template = "{status} {method} {path} {missing}|"
        inputs = ["web"]
        exclude = { path = "^/health" }

        [sinks.raw]
        type = "file"
        path = "{work}/out/worker.raw"
        format = "raw"
        inputs = ["worker"]
        include = { message = "crashed" }

        [sinks.worker_json]
        type = "file"
        path = "{work}/out/worker.jsonl"
        inputs = ["worker"]
        """
    )
    r = run_once(config)
    assert r.returncode == 0, r.stderr.decode()
    out = work / "out"

    def entries(name: str) -> list[dict]:
        return [orjson.loads(x) for x in (out / name).read_bytes().splitlines()]

    app = entries("app.jsonl")
    assert len(app) == 4
    read_ts = app[2]["timestamp"]
    assert read_ts.endswith("Z")
    common = {"source": "app", "file": str(logs / "app.json"), "host": HOST}
    assert app[0] == {"timestamp": "2023-11-14T22:13:20.500Z", "level": "error", "message": "payment failed",
                      "email": "[REDACTED]", "card": "[REDACTED]", **common, "service": "shop"}
    assert list(app[0])[:3] == ["timestamp", "level", "message"]
    assert app[1] == {"timestamp": "2024-05-01T08:00:00Z", "level": "warning", "message": "slow",
                      "hostname": "web-1", **common, "service": "shop"}
    assert app[2]["message"] == "not json at all"
    assert app[2]["parse_error"]
    assert app[3]["level"] == "debug"
    svc = entries("svc.jsonl")
    assert svc == [{"timestamp": "2024-05-01T00:00:00Z", "level": "info", "message": "user logged in",
                    "user": "bob", "auth": "Bearer [REDACTED]", "source": "svc",
                    "file": str(logs / "svc.logfmt"), "host": HOST}]
    web = entries("web.jsonl")
    assert [(e["timestamp"], e["remote_addr"], e["remote_user"], e["method"], e["path"], e["protocol"],
             e["status"], e["bytes"], e["referer"], e["agent"]) for e in web] == [
        ("2023-10-10T20:55:36Z", "203.0.113.7", "-", "GET", "/health", "HTTP/1.1", 200, 2, "-", "kube-probe/1.29"),
        ("2023-10-10T20:55:37Z", "203.0.113.8", "alice", "POST", "/api/orders", "HTTP/1.1", 502, 0,
         "https://example.com/", "curl/8.0"),
    ]
    # min_level = warning: the error and the warning pass; the parse error has no level and passes
    warnings = (out / "warnings.logfmt").read_text().splitlines()
    assert len(warnings) == 3
    assert warnings[0].startswith('timestamp=2023-11-14T22:13:20.500Z level=error message="payment failed" ')
    assert 'service=shop' in warnings[0]
    assert "noise" not in "".join(warnings)
    # text with a missing field, health checks excluded
    assert (out / "web.txt").read_text() == "502 POST /api/orders |\n"
    # raw passes the line exactly as read, include keeps only matches
    assert (out / "worker.raw").read_bytes() == b"E 2024-05-01 job 17 crashed\n"
    worker = entries("worker.jsonl")
    assert [(e["level"], e["day"], e["message"]) for e in worker] == [
        ("E", "2024-05-01", "job 17 crashed"), ("I", "2024-05-01", "job 18 done")]
