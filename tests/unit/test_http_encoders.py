"""The http sink's encodings (entry half + request half), its batching, its time parser,
and the sink itself against an in-process loopback server (retries, dead letters, abort)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logproc.errors import FatalSinkError, RetriableSinkError
from logproc.sinks.base import Delivery, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.http import formatter as build_http_formatter
from logproc.sinks.http.batching import plan
from logproc.sinks.http.client import retry_after
from logproc.sinks.http.config import HttpSinkConfig
from logproc.sinks.http.encoders import build_encoding
from logproc.sinks.http.encoders.elasticsearch import failures
from logproc.sinks.http.sink import HttpSink
from logproc.sinks.http.timefmt import epoch_ns
from logproc.testing import HttpTestServer, Reply


def cfg(**kw):
    return HttpSinkConfig(type="http", url=kw.pop("url", "http://127.0.0.1:9/"), **kw)


def entry(i, ts="2026-11-24T04:00:00.123456Z", **extra):
    return {"timestamp": ts, "message": f"seq={i} hello", "source": "app", "file": "/l/a.log",
            "host": "h1", **extra}


def encode(c, entries):
    enc = build_encoding(c)
    payload = build_http_formatter(c)(entries, [b"raw"] * len(entries))
    assert payload.count(b"\n") == len(entries)  # one unit per entry
    return enc.body([payload])


# -- time -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "ns"), [
    ("2026-11-24T04:00:00Z", 1795492800_000000000),
    ("2026-11-24T04:00:00.123Z", 1795492800_123000000),
    ("2026-11-24T04:00:00.123456Z", 1795492800_123456000),
    ("2026-11-24T04:00:00.123456789Z", 1795492800_123456789),
    ("2026-11-24T05:30:00.5+01:30", 1795492800_500000000),
    ("2026-11-24 04:00:00", 1795492800_000000000),
])
def test_epoch_ns_reads_rfc3339(text, ns):
    assert epoch_ns(text) == ns


@pytest.mark.parametrize("bad", [None, 17, "", "yesterday", "2026-13-45T99:00:00Z"])
def test_epoch_ns_refuses_what_is_not_a_time(bad):
    assert epoch_ns(bad) is None


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1)))
def test_epoch_ns_agrees_with_datetime(dt):
    dt = dt.replace(tzinfo=UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond:06d}" if dt.microsecond else "") + "Z"
    assert epoch_ns(text) == (int(dt.replace(microsecond=0).timestamp()) * 10**9 + dt.microsecond * 1000)


# -- encodings --------------------------------------------------------------------------
def test_ndjson_is_the_format_lines():
    entries = [entry(0), entry(1)]
    body = encode(cfg(), entries)
    assert body.endswith(b"\n")
    assert [json.loads(x) for x in body.splitlines()] == entries
    assert encode(cfg(format="logfmt"), [entry(0)]).startswith(b"timestamp=2026-11-24T04:00:00.123456Z message=")
    assert build_encoding(cfg()).content_type == "application/x-ndjson"


def test_json_array_is_one_array_of_the_entries():
    entries = [entry(0, note='a "quoted", [odd]\nvalue'), entry(1)]
    assert json.loads(encode(cfg(encoding="json_array"), entries)) == entries
    text = json.loads(encode(cfg(encoding="json_array", format="text", template="{level}|{message}"), entries))
    assert text == ["|seq=0 hello", "|seq=1 hello"]  # another format: each line as a JSON string
    assert build_encoding(cfg(encoding="json_array")).content_type == "application/json"


def test_loki_groups_streams_sorts_by_time_and_drops_empty_labels():
    entries = [
        entry(0, ts="2026-11-24T04:00:02Z", level="info"),
        entry(1, ts="2026-11-24T04:00:01Z", level="error"),
        entry(2, ts="2026-11-24T04:00:01.5Z", level="info"),
        entry(3, ts="2026-11-24T04:00:00Z"),  # no level: the label is left out
        entry(4, ts="2026-11-24T04:00:00Z", level="info"),  # same time as 0's stream peers: kept in order
    ]
    body = json.loads(encode(cfg(encoding="loki"), entries))
    streams = {tuple(s["stream"].items()): s["values"] for s in body["streams"]}
    info = (("source", "app"), ("host", "h1"), ("level", "info"))
    assert list(streams) == [info, (("source", "app"), ("host", "h1"), ("level", "error")),
                             (("source", "app"), ("host", "h1"))]
    assert [v[0] for v in streams[info]] == ["1795492800000000000", "1795492801500000000", "1795492802000000000"]
    assert [json.loads(v[1])["message"] for v in streams[info]] == ["seq=4 hello", "seq=2 hello", "seq=0 hello"]
    assert all(isinstance(v[0], str) and isinstance(v[1], str) for vs in streams.values() for v in vs)
    assert json.loads(streams[info][0][1]) == entries[4]  # the line is the entry in `format` (json)


def test_loki_label_templates_and_text_lines_with_awkward_characters():
    c = cfg(encoding="loki", labels={"job": "logproc-{source}", "lvl": "{level}", "odd": "{note}"},
            format="text", template="{level} {message}")
    awkward = 'x ,"values":[ "y" \\ \t'
    entries = [entry(0, level="warning", note=awkward), entry(1, level="warning", note=awkward)]
    entries[1]["message"] = 'tab\there "quote" ,"values":[[ back\\slash'
    body = json.loads(encode(c, entries))
    assert len(body["streams"]) == 1
    stream = body["streams"][0]
    assert stream["stream"] == {"job": "logproc-app", "lvl": "warning", "odd": awkward}
    assert [v[1] for v in stream["values"]] == ["warning seq=0 hello", 'warning tab\there "quote" ,"values":[[ back\\slash']


def test_loki_unit_is_a_stream_of_its_own():
    c = cfg(encoding="loki")
    unit = build_http_formatter(c)([entry(7, level="info")], []).rstrip(b"\n")
    assert json.loads(unit) == {"stream": {"source": "app", "host": "h1", "level": "info"},
                                "values": [["1795492800123456000", json.dumps(entry(7, level="info"),
                                                                               separators=(",", ":"))]]}


def test_elasticsearch_bulk_body():
    entries = [entry(0), entry(1, ts="2026-11-25T23:59:59Z"), {"message": "no time", "@timestamp": "x"}]
    body = encode(cfg(encoding="elasticsearch"), entries)
    assert body.endswith(b"\n")
    lines = [json.loads(x) for x in body.splitlines()]
    assert lines[0] == {"create": {"_index": "logproc-2026.11.24"}}
    assert lines[1] == {"@timestamp": "2026-11-24T04:00:00.123456Z", **entry(0)}
    assert next(iter(lines[1])) == "@timestamp"
    assert lines[2] == {"create": {"_index": "logproc-2026.11.25"}}
    assert lines[3]["@timestamp"] == "2026-11-25T23:59:59Z"
    assert lines[5] == {"message": "no time", "@timestamp": "x"}  # its own @timestamp is kept
    assert len(lines) == 6


def test_elasticsearch_index_pattern_action_and_forbidden_characters():
    c = cfg(encoding="elasticsearch", index='Logs-%b, "%H"/#', action="index")
    first = json.loads(encode(c, [entry(0)]).splitlines()[0])
    assert first == {"index": {"_index": "logs-nov___04___"}}


def test_elasticsearch_failures_reads_items():
    ok = b'{"took":3,"errors":false,"items":[{"create":{"status":201}}]}'
    assert failures(ok, 1) == []
    resp = json.dumps({"errors": True, "items": [
        {"create": {"status": 201}},
        {"create": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
        {"create": {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad field"}}},
    ]}).encode()
    got = failures(resp, 3)
    assert [(p, s, r) for p, s, r, _ in got] == [(1, 429, "es_rejected_execution_exception: busy"),
                                                 (2, 400, "mapper_parsing_exception: bad field")]
    assert json.loads(got[1][3])["create"]["status"] == 400
    with pytest.raises(ValueError, match="items"):
        failures(resp, 4)


# -- batching ---------------------------------------------------------------------------
def d(lines, source="s"):
    return Delivery(source, b"".join(b"%s\n" % x for x in lines), len(lines), noop)


def test_plan_packs_whole_payloads_and_cuts_big_ones():
    units = [b"u%03d" % i for i in range(25)]  # 5 bytes each with the newline
    reqs = plan([d(units[:4]), d(units[4:7]), d(units[7:25]), d([])], max_entries=5, max_bytes=1000)
    assert [r.entries for r in reqs] == [4, 5, 5, 5, 5, 1]  # a cut payload tops up the open request first
    assert b"".join(b"".join(r.chunks) for r in reqs) == b"".join(u + b"\n" for u in units)
    by_bytes = plan([d(units[:10])], max_entries=100, max_bytes=12)
    assert [r.entries for r in by_bytes] == [2, 2, 2, 2, 2]
    huge = plan([d([b"x" * 50, b"y"])], max_entries=100, max_bytes=10)
    assert [r.chunks for r in huge] == [[b"x" * 50 + b"\n"], [b"y\n"]]  # alone, never dropped


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("3") == 3.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    when = datetime.now(UTC) + timedelta(seconds=20)
    assert 18 <= (retry_after(format_datetime(when, usegmt=True)) or 0) <= 20
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# -- the sink against a loopback server -------------------------------------------------
def sink_for(server, tmp_path, **kw):
    c = cfg(url=server.url("/in"), **kw)
    dead = DeadLetters(tmp_path)
    return HttpSink("h", c, dead), build_http_formatter(c), tmp_path / "dead-letter.jsonl"


def deliveries(fmt, start, count, per=10):
    return [Delivery("app", fmt([entry(i) for i in range(k, min(k + per, start + count))], []), per, noop)
            for k in range(start, start + count, per)]


@pytest.mark.timeout(30)
def test_sink_retries_5xx_and_honours_retry_after(tmp_path):
    script = [Reply(503), Reply(429, headers={"Retry-After": "1"})]
    with HttpTestServer(script) as server:
        sink, fmt, _ = sink_for(server, tmp_path, retry_max_backoff=5, headers={"X-Token": "secret"})
        sink.write(deliveries(fmt, 0, 30, per=30))
        sink.close()
        got = server.received
    assert [r.status for r in got] == [503, 429, 200]
    assert got[2].at - got[1].at >= 0.95
    assert got[0].body == got[2].body and got[0].headers["x-token"] == "secret"
    assert sink.retries == 2


@pytest.mark.timeout(30)
def test_sink_400_of_the_only_request_raises_fatal_with_status_and_body(tmp_path):
    with HttpTestServer([Reply(400, b"no such index")]) as server:
        sink, fmt, _ = sink_for(server, tmp_path)
        with pytest.raises(FatalSinkError) as err:
            sink.write(deliveries(fmt, 0, 5))
    assert (err.value.status, err.value.response) == (400, "no such index")


@pytest.mark.timeout(30)
def test_sink_400_of_one_request_of_several_dead_letters_only_it(tmp_path):
    with HttpTestServer([Reply(200), Reply(400, b"bad")]) as server:
        sink, fmt, dead = sink_for(server, tmp_path, batch_max_entries=10)
        sink.write(deliveries(fmt, 0, 30))
        sink.close()
        bodies = server.bodies()
    records = [json.loads(x) for x in dead.read_bytes().splitlines()]
    assert [json.loads(r["entry"])["message"] for r in records] == [f"seq={i} hello" for i in range(10, 20)]
    assert {(r["status"], r["response"]) for r in records} == {(400, "bad")}
    assert b"seq=5 " in bodies[0] and b"seq=25 " in bodies[1]


@pytest.mark.timeout(30)
def test_sink_concurrency_sends_in_parallel(tmp_path):
    gate = threading.Barrier(4, timeout=10)

    def respond(_r):
        gate.wait()  # four requests must be in flight at once to pass
        return Reply()

    with HttpTestServer(respond=respond) as server:
        sink, fmt, _ = sink_for(server, tmp_path, batch_max_entries=10, concurrency=4)
        sink.write(deliveries(fmt, 0, 40))
        sink.close()
        assert server.count == 4


@pytest.mark.timeout(30)
def test_sink_stops_retrying_on_abort(tmp_path):
    server = HttpTestServer(listening=False)  # refused, forever
    try:
        sink, fmt, _ = sink_for(server, tmp_path, retry_max_backoff=0.2)
        abort = threading.Event()
        sink.set_abort(abort)
        threading.Timer(0.5, abort.set).start()
        t0 = time.monotonic()
        with pytest.raises(RetriableSinkError):
            sink.write(deliveries(fmt, 0, 5))
        assert time.monotonic() - t0 < 5
        assert sink.retries >= 2
    finally:
        server.stop()


@pytest.mark.timeout(30)
def test_elasticsearch_partial_failure_resends_retriable_items_only(tmp_path):
    def respond(r):
        docs = r.body.splitlines()[1::2]
        if len(docs) == 1:  # the re-send
            return Reply(200, json.dumps({"errors": False, "items": [{"create": {"status": 201}}]}).encode())
        items = [{"create": {"status": 201}}] * len(docs)
        items[1] = {"create": {"status": 503, "error": {"type": "unavailable", "reason": "later"}}}
        items[3] = {"create": {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "no"}}}
        return Reply(200, json.dumps({"errors": True, "items": items}).encode())

    with HttpTestServer(respond=respond) as server:
        sink, fmt, dead = sink_for(server, tmp_path, encoding="elasticsearch", retry_max_backoff=0.2)
        sink.write(deliveries(fmt, 0, 5, per=5))
        sink.close()
        resent = server.received[1].body.splitlines()
    assert len(resent) == 2 and json.loads(resent[1])["message"] == "seq=1 hello"
    (rec,) = [json.loads(x) for x in dead.read_bytes().splitlines()]
    assert rec["status"] == 400 and "mapper_parsing_exception: no" in rec["reason"]
    action, doc = json.loads(rec["entry"])
    assert action == {"create": {"_index": "logproc-2026.11.24"}} and doc["message"] == "seq=3 hello"


@pytest.mark.timeout(30)
def test_retry_after_is_capped_by_retry_max_backoff_and_url_user_info_is_basic_auth(tmp_path):
    with HttpTestServer([Reply(503, headers={"Retry-After": "3600"})]) as server:
        c = cfg(url=server.url("/in").replace("http://", "http://user:pa%20ss@"), retry_max_backoff=0.3)
        sink = HttpSink("h", c, DeadLetters(tmp_path))
        sink.write(deliveries(build_http_formatter(c), 0, 3))
        sink.close()
        first, second = server.received
    assert second.at - first.at < 2
    assert first.headers["authorization"] == "Basic dXNlcjpwYSBzcw=="  # "user:pa ss"
    assert first.path == "/in"


def test_no_header_value_in_the_sink_log(tmp_path, capsys):
    with HttpTestServer([Reply(500)]) as server:
        sink, fmt, _ = sink_for(server, tmp_path, headers={"Authorization": "Bearer TOPSECRET"},
                                retry_max_backoff=0.1)
        sink.write(deliveries(fmt, 0, 3))
        sink.close()
    captured = capsys.readouterr()
    assert "TOPSECRET" not in captured.err + captured.out
