"""The otlp sink end to end: the real `logproc run --once` against a loopback OTLP receiver
(`tests.otlp_support`), with faults injected by script; what arrived is decoded with
opentelemetry-proto and checked record by record and with the numbered-line oracle."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs

from logproc.testing import HttpTestServer, Reply, check_sequence, run_once
from tests.otlp_support import partial, records, status

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(20)]
LEVELS = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
NUMBERS = {"trace": 1, "debug": 5, "info": 9, "notice": 10, "warning": 13, "error": 17, "critical": 21}


def write_lines(work, n):
    lines = [{"timestamp": f"2026-11-24T04:00:{i % 60:02d}.{i:06d}Z", "level": LEVELS[i % 7],
              "message": f"seq={i} hello", "n": i, "ratio": i / 4, "ok": i % 2 == 0,
              "ctx": {"user": "bob", "tags": ["a", i]}} for i in range(n)]
    (work / "logs" / "app.log").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def otlp_config(write_config, endpoint, sink=""):
    return write_config(f"""
[sources.app]
paths = ["{{work}}/logs/*.log"]
parser = "json"

[sinks.otel]
type = "otlp"
endpoint = "{endpoint}"
batch_timeout = 0.05
retry_max_backoff = 2
{sink}
""")


def run(cfg):
    result = run_once(cfg, timeout=18)
    assert result.returncode == 0, result.stderr.decode()
    return result.stderr.decode()


def sink_stats(log):
    return next(json.loads(x) for x in log.splitlines() if '"sink stats"' in x)


def dead_letters(work):
    path = work / "state" / "dead-letter.jsonl"
    return [json.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_every_line_arrives_as_one_log_record(write_config, work, protocol):
    n = 700
    write_lines(work, n)
    with HttpTestServer() as server:
        cfg = otlp_config(write_config, server.url("/v1/logs"),
                          f'protocol = "{protocol}"\ngzip = true\nbatch_max_entries = 250\n'
                          'resource = { "deployment.environment" = "test-{source}" }')
        before = time.time_ns()
        log = run(cfg)
        after = time.time_ns()
        got = records(server)
        assert all(r.path == "/v1/logs" and r.headers["content-encoding"] == "gzip"
                   for r in server.received)
        assert len(server.received) >= 3  # batch_max_entries: 250 records per request at most
    check_sequence([rec.body.string_value.encode() for _, rec in got], n)
    assert len(got) == n and sink_stats(log)["entries_written"] == n
    for res, rec in got:
        i = int(rec.body.string_value.split()[0][4:])
        assert res == {"service.name": "app", "host.name": res["host.name"],
                       "deployment.environment": "test-app"} and res["host.name"]
        assert rec.severity_number == NUMBERS[LEVELS[i % 7]] and rec.severity_text == LEVELS[i % 7]
        assert rec.time_unix_nano == (1795492800 + i % 60) * 10**9 + i * 1000
        assert before <= rec.observed_time_unix_nano <= after
        attributes = {kv.key: kv.value for kv in rec.attributes}
        assert attributes["n"].int_value == i and attributes["ratio"].double_value == i / 4
        assert attributes["ok"].bool_value is (i % 2 == 0)
        ctx = {kv.key: kv.value for kv in attributes["ctx"].kvlist_value.values}
        assert ctx["user"].string_value == "bob"
        assert [v.WhichOneof("value") for v in ctx["tags"].array_value.values] == ["string_value", "int_value"]
        assert attributes["source"].string_value == "app" and attributes["file"].string_value.endswith("app.log")
        assert not {"timestamp", "level", "message"} & attributes.keys()


@pytest.mark.parametrize("fault", [Reply(503, headers={"Retry-After": "1"}), Reply(429, headers={"Retry-After": "1"})],
                         ids=["503", "429"])
def test_retried_after_the_delay_asked_nothing_lost(write_config, work, fault):
    n = 300
    write_lines(work, n)
    with HttpTestServer(script=[fault, fault]) as server:
        log = run(otlp_config(write_config, server.url("/v1/logs")))
        got = records(server)
        times = [r.at for r in server.received]
    check_sequence([rec.body.string_value.encode() for _, rec in got], n)
    assert len(times) == 3 and times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95
    assert "retrying until it succeeds" in log and sink_stats(log)["entries_written"] == n
    assert dead_letters(work) == []


@pytest.mark.parametrize("code", [400, 500])
def test_refused_request_goes_to_dead_letters_with_the_reason(write_config, work, code):
    n = 50
    write_lines(work, n)
    refusal = Reply(code, status(3, "field too long"), {"Content-Type": "application/x-protobuf"})
    with HttpTestServer(script=[refusal]) as server:
        log = run(otlp_config(write_config, server.url("/v1/logs")))
        assert len(server.received) == 1  # not retried: OTLP says so for 400 and 500 alike
    dead = dead_letters(work)
    assert len(dead) == n and sink_stats(log)["dead_lettered"] == n
    assert {d["reason"] for d in dead} == {f"HTTP {code} from the server: field too long"}
    assert {d["status"] for d in dead} == {code}
    # each entry is one record as OTLP/JSON, ready to send again
    bodies = [json_format.ParseDict(orjson.loads(d["entry"]), ResourceLogs()).scope_logs[0].log_records[0]
              .body.string_value for d in dead]
    check_sequence([b.encode() for b in bodies], n)


def test_partial_success_is_logged_and_dead_lettered(write_config, work):
    n = 40
    write_lines(work, n)
    with HttpTestServer(script=[partial(3, "3 records too old", as_json=True)]) as server:
        log = run(otlp_config(write_config, server.url("/v1/logs"), 'protocol = "http/json"'))
        assert len(server.received) == 1  # a partial success is not sent again
    assert "partial success" in log and "3 records too old" in log
    dead = dead_letters(work)
    assert len(dead) == n  # the receiver does not say which 3: the whole request, marked
    assert {d["reason"] for d in dead} == {
        f"partial success: the receiver rejected 3 of these {n} records (it does not say which; "
        "the others were accepted): 3 records too old"}
    stats = sink_stats(log)
    assert stats["dead_lettered"] == 3 and stats["entries_written"] == n - 3


def test_https_with_ca_file_and_server_name(write_config, work, tmp_path):
    """The certificate names only `otlp.test`: verified against `tls.ca_file` under
    `tls.server_name` while connecting to 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=otlp.test",
                    "-addext", "subjectAltName=DNS:otlp.test"], check=True, capture_output=True)
    n = 100
    write_lines(work, n)
    with HttpTestServer(tls=(str(cert), str(key))) as server:
        run(otlp_config(write_config, server.url("/v1/logs"),
                        f'tls = {{ ca_file = "{cert}", server_name = "otlp.test" }}'))
        got = records(server)
    check_sequence([rec.body.string_value.encode() for _, rec in got], n)
