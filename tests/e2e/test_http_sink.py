"""The http sink end to end: the real `logproc run` against loopback servers started here
(`logproc.testing.HttpTestServer`), with faults injected by script, checked with the
numbered-line oracle and field by field on what the server received."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import orjson
import pytest

from logproc.testing import (
    Daemon,
    HttpTestServer,
    LogWriter,
    Reply,
    check_sequence,
    numbered,
    run_once,
    wait_for,
)

pytestmark = pytest.mark.e2e


def http_config(write_config, url, sink="", daemon="", parser="plain"):
    head = ""
    if daemon:
        head = ('[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n'
                f"checkpoint_interval = 0.2\n{daemon}\n\n")
    return write_config(head + f"""
[sources.app]
paths = ["{{work}}/logs/*.log"]
parser = "{parser}"

[sinks.remote]
type = "http"
url = "{url}"
{sink}
""")


def dead_letters(work):
    path = work / "state" / "dead-letter.jsonl"
    return [json.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


def ok(result):
    assert result.returncode == 0, result.stderr.decode()
    return result.stderr.decode()


# -- the wire formats --------------------------------------------------------------------
LINES = [
    {"ts": "2026-11-24T04:00:02.5Z", "level": "warn", "msg": 'seq=0 "quoted" \\ back', "user": "bob"},
    {"ts": "2026-11-24T04:00:01Z", "level": "info", "msg": "seq=1 early"},
    {"ts": "2026-11-24T04:00:00.000001Z", "level": "warn", "msg": "seq=2 earliest"},
    {"ts": "2026-11-25T00:00:00Z", "msg": "seq=3 no level, next day"},
]
TS = ["2026-11-24T04:00:02.500Z", "2026-11-24T04:00:01Z", "2026-11-24T04:00:00.000001Z", "2026-11-25T00:00:00Z"]
NS = ["1795492802500000000", "1795492801000000000", "1795492800000001000", "1795564800000000000"]


def expected_entries(work):
    host = socket.gethostname()
    out = []
    for line, ts in zip(LINES, TS, strict=True):
        e = {"timestamp": ts}
        if "level" in line:
            e["level"] = {"warn": "warning"}.get(line["level"], line["level"])
        e["message"] = line["msg"]
        if "user" in line:
            e["user"] = line["user"]
        e.update(source="app", file=str(work / "logs" / "app.log"), host=host)
        out.append(e)
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("encoding", "gzip"), [("ndjson", False), ("json_array", True), ("loki", True),
                                                ("elasticsearch", False)])
def test_wire_format(work, write_config, encoding, gzip):
    (work / "logs" / "app.log").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in LINES))
    with HttpTestServer() as server:
        config = http_config(write_config, server.url("/loki/api/v1/push?tenant=a"), parser="json", sink=f"""
encoding = "{encoding}"
gzip = {str(gzip).lower()}
headers = {{ "X-Scope-OrgID" = "team-a", Authorization = "Bearer sekrit" }}
""")
        log = ok(run_once(config))
        (req,) = server.received
    assert "sekrit" not in log
    assert (req.method, req.path) == ("POST", "/loki/api/v1/push?tenant=a")
    assert req.headers["x-scope-orgid"] == "team-a" and req.headers["authorization"] == "Bearer sekrit"
    assert req.headers.get("content-encoding") == ("gzip" if gzip else None)
    if gzip:
        assert req.wire_bytes < len(req.body)
    entries = expected_entries(work)
    lines = [orjson.dumps(e) for e in entries]
    body = req.body
    if encoding == "ndjson":
        assert req.headers["content-type"] == "application/x-ndjson"
        assert body == b"".join(x + b"\n" for x in lines)
    elif encoding == "json_array":
        assert req.headers["content-type"] == "application/json"
        assert body == b"[" + b",".join(lines) + b"]"
        assert json.loads(body) == entries
    elif encoding == "loki":
        assert req.headers["content-type"] == "application/json"
        host = socket.gethostname()
        doc = json.loads(body)
        assert doc == {"streams": [
            {"stream": {"source": "app", "host": host, "level": "warning"},
             "values": [[NS[2], lines[2].decode()], [NS[0], lines[0].decode()]]},  # sorted by time
            {"stream": {"source": "app", "host": host, "level": "info"}, "values": [[NS[1], lines[1].decode()]]},
            {"stream": {"source": "app", "host": host}, "values": [[NS[3], lines[3].decode()]]},  # no level
        ]}
    else:
        assert req.headers["content-type"] == "application/x-ndjson"
        assert body.endswith(b"\n")
        got = body.splitlines()
        assert len(got) == 8
        for i, e in enumerate(entries):
            index = "logproc-2026.11.25" if i == 3 else "logproc-2026.11.24"
            action = json.loads(got[2 * i])
            # the entry's stable id: the file's ident and the line's offset
            offset = sum(len(orjson.dumps(x)) + 1 for x in LINES[:i])
            assert action == {"create": {"_index": index, "_id": f"{action['create']['_id'][:16]}-{offset:x}"}}
            doc = json.loads(got[2 * i + 1])
            assert doc == {"@timestamp": e["timestamp"], **e}
            assert next(iter(doc)) == "@timestamp"


# -- faults ------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_connection_refused_then_up_delivers_everything_once(work, write_config):
    server = HttpTestServer(listening=False)
    try:
        config = http_config(write_config, server.url("/in"), sink="retry_max_backoff = 0.5")
        writer = LogWriter(work / "logs" / "app.log")
        with Daemon(config, log_path=work / "daemon.log") as d:
            d.wait_started()
            writer.write(numbered(0, 3000))
            wait_for(lambda: "http request failed" in d.log(), 20, 0.05, what="the failure to be logged")
            writer.write(numbered(3000, 2000))
            server.start()
            wait_for(lambda: b"seq=4999 " in b"".join(server.bodies()), 30, 0.05, what="the last line")
            check_sequence(server.bodies(), 5000)  # refused requests delivered nothing: no duplicate
            assert d.stop() == 0, d.log()
        log = d.log()
        assert log.count("http request failed") == 1, log  # once per episode, not per retry
        assert "http requests succeed again" in log
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_500_then_429_with_retry_after_then_200(work, write_config):
    (work / "logs" / "app.log").write_bytes(numbered(0, 500))
    script = [Reply(500, b"boom"), Reply(429, b"slow down", {"Retry-After": "1"})]
    with HttpTestServer(script) as server:
        config = http_config(write_config, server.url("/in"), sink="retry_max_backoff = 5")
        log = ok(run_once(config))
        got = server.received
    assert [r.status for r in got] == [500, 429, 200]
    assert got[2].at - got[1].at >= 0.95  # Retry-After honoured
    assert got[0].body == got[1].body == got[2].body
    check_sequence(server.bodies(), 500)
    assert log.count("http request failed") == 2  # one per kind of failure in the episode
    assert not dead_letters(work)


@pytest.mark.timeout(60)
def test_server_hanging_past_timeout_is_retried(work, write_config):
    (work / "logs" / "app.log").write_bytes(numbered(0, 2000))
    with HttpTestServer([Reply(hang=20)]) as server:
        config = http_config(write_config, server.url("/in"),
                             sink="timeout = 0.5\nretry_max_backoff = 0.5\nbatch_max_entries = 500")
        t0 = time.monotonic()
        log = ok(run_once(config))
        assert time.monotonic() - t0 < 15
        first = server.received[0]
        # the hung request may have been taken by the server: it alone may come twice
        hung = len(first.body.splitlines())
        report = check_sequence([r.body for r in server.received], 2000, allow_dups=hung)
    assert hung == 500 and report.duplicates == hung
    assert "ReadTimeoutError" in log


@pytest.mark.timeout(60)
def test_400_for_one_batch_goes_to_the_dead_letter_file(work, write_config):
    (work / "logs" / "app.log").write_bytes(numbered(0, 1000))
    with HttpTestServer([Reply(200), Reply(400, b'{"error":"bad batch"}')]) as server:
        config = http_config(write_config, server.url("/in"), sink="batch_max_entries = 100")
        ok(run_once(config))
        refused = server.received[1]
        accepted = server.bodies()
    assert refused.status == 400 and 0 < len(refused.body.splitlines()) <= 100 and len(accepted) >= 9
    records = dead_letters(work)
    assert {(r["sink"], r["status"], r["response"]) for r in records} == {("remote", 400, '{"error":"bad batch"}')}
    entries = [r["entry"].encode() + b"\n" for r in records]
    assert b"".join(entries) == refused.body  # exactly that batch, as it was sent
    check_sequence(accepted + entries, 1000)  # together: every line, once


@pytest.mark.timeout(60)
def test_elasticsearch_partial_failure(work, write_config):
    (work / "logs" / "app.log").write_bytes(numbered(0, 50))
    seen: dict[str, int] = {}
    accepted: list[str] = []

    def respond(r):
        docs = [json.loads(x)["message"].split()[0] for x in r.body.splitlines()[1::2]]
        items = []
        for seq in docs:
            seen[seq] = seen.get(seq, 0) + 1
            if seq == "seq=7" and seen[seq] == 1:
                items.append({"create": {"status": 429, "error": {"type": "es_rejected_execution_exception",
                                                                  "reason": "queue full"}}})
            elif seq == "seq=9":
                items.append({"create": {"status": 400, "error": {"type": "mapper_parsing_exception",
                                                                  "reason": "failed to parse"}}})
            else:
                items.append({"create": {"_index": "x", "status": 201}})
                accepted.append(seq)
        return Reply(200, json.dumps({"took": 1, "errors": any(i["create"]["status"] != 201 for i in items),
                                      "items": items}).encode())

    with HttpTestServer(respond=respond) as server:
        config = http_config(write_config, server.url("/_bulk"),
                             sink='encoding = "elasticsearch"\nretry_max_backoff = 0.5')
        ok(run_once(config))
        assert server.count == 2
        resent = server.received[1].body.splitlines()
    assert len(resent) == 2 and json.loads(resent[1])["message"].startswith("seq=7 ")
    assert sorted(accepted) == sorted(f"seq={i}" for i in range(50) if i != 9)  # seq=7 once
    (rec,) = dead_letters(work)
    assert rec["status"] == 400 and "mapper_parsing_exception: failed to parse" in rec["reason"]
    action, doc = json.loads(rec["entry"])
    assert list(action) == ["create"] and action["create"]["_index"].startswith("logproc-20")
    assert doc["message"].startswith("seq=9 ")


@pytest.fixture(name="cert")
def fixture_cert(tmp_path):
    """A self-signed certificate for 127.0.0.1 (made by the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.timeout(60)
def test_tls_is_verified_and_shutdown_stops_retrying(work, write_config, cert):
    """An unknown certificate is refused (retried, logged) and SIGTERM past shutdown_timeout
    stops the retries: exit 1, nothing acknowledged; with `ca_file`, the same lines arrive once."""
    (work / "logs" / "app.log").write_bytes(numbered(0, 300))
    with HttpTestServer(tls=cert) as server:
        config = http_config(write_config, server.url("/in"), daemon="shutdown_timeout = 1",
                             sink="retry_max_backoff = 0.5")
        with Daemon(config, log_path=work / "daemon.log") as d:
            d.wait_started()
            wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in d.log(), 20, 0.05, what="the refused certificate")
            t0 = time.monotonic()
            assert d.stop(15) == 1, d.log()  # the drain could not finish: past shutdown_timeout
            assert time.monotonic() - t0 < 10
        assert server.count == 0
        config = http_config(write_config, server.url("/in"), sink=f'ca_file = "{cert[0]}"')
        ok(run_once(config))
        check_sequence(server.bodies(), 300)
        (work / "logs" / "more.log").write_bytes(numbered(300, 10))
        config = http_config(write_config, server.url("/in"), sink="tls_verify = false")
        assert "TLS certificate verification is off" in ok(run_once(config))  # explicit, and said
        check_sequence(server.bodies(), 310)


# -- a long outage under load ------------------------------------------------------------
def _status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(key)


def _rchar(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


@pytest.mark.timeout(90)
def test_sink_down_while_100k_lines_are_written(work, write_config):
    """Down for 30 s while 100,000 lines arrive: the reader is held back (bounded memory),
    delivery resumes by itself once the server is up, and nothing is lost or repeated."""
    total, down_for, limit_kib = 100_000, 30.0, 200 * 1024
    server = HttpTestServer(listening=False)
    try:
        # workers = 0: rchar then counts file reads only (worker replies come through pipes)
        config = http_config(write_config, server.url("/in"), daemon="queue_size = 5000\nworkers = 0",
                             sink="retry_max_backoff = 1\nconcurrency = 2\ngzip = true")
        writer = LogWriter(work / "logs" / "app.log")
        with Daemon(config, log_path=work / "daemon.log") as d:
            d.wait_started()
            t_down = time.monotonic()
            rchar0 = _rchar(d.pid)
            for k in range(0, total, 5000):
                writer.write(numbered(k, 5000, tag="x" * 200))
            size = (work / "logs" / "app.log").stat().st_size
            samples: list[int] = []

            def held_back():
                # reading has stopped; the stat passes go on (they read a few dozen bytes of
                # each file: fingerprints and the hash before the offset), a chunk they are not
                samples.append(_rchar(d.pid))
                return len(samples) > 10 and samples[-1] - samples[-11] < 16 * 1024

            wait_for(held_back, 30, 0.1, what="the reader to be held back by the full queue")
            assert _rchar(d.pid) - rchar0 < size / 2  # held back, not reading it all into memory

            def outage_over():
                assert d.proc.poll() is None, d.log()
                assert _status(d.pid, "VmHWM") < limit_kib
                return time.monotonic() - t_down >= down_for

            wait_for(outage_over, down_for + 5, 0.2, what="the outage to last")
            assert "http request failed" in d.log()
            server.start()
            wait_for(lambda: sum(b.count(b"\n") for b in server.bodies()) >= total, 60, 0.1,
                     what="every line delivered after the outage")
            check_sequence(server.bodies(), total)
            hwm = _status(d.pid, "VmHWM")
            assert d.stop() == 0, d.log()
        assert hwm < limit_kib, f"peak RSS {hwm} KiB"
        print(f"peak RSS {hwm / 1024:.0f} MiB")
    finally:
        server.stop()
