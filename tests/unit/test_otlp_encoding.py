"""The otlp encoding without the daemon: units to request bodies (grouped by resource,
both protocols), dead-letter lines, and what a receiver's answers say."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs

from logproc.sinks.otlp.body import readable, varint
from logproc.sinks.otlp.parts import build_encoding
from logproc.sinks.otlp.response import partial_success, refusal_text
from tests.otlp_support import attrs, partial, status

ENTRIES = [
    {"timestamp": "2026-11-24T04:00:00.5Z", "level": "info", "message": "one\nline", "source": "a", "host": "h"},
    {"timestamp": "not a time", "message": "two", "source": "b", "host": "h"},
    {"timestamp": "2026-11-24T04:00:01Z", "level": "error", "message": {"k": "v"}, "source": "a", "host": "h",
     "bad": "x\ud800"},
]


def encode(protocol, resource=None):
    enc = build_encoding(SimpleNamespace(protocol=protocol, resource=resource or {}))
    units = enc.entry_half(ENTRIES, [])
    half = units.index(b"\n") + 1  # two chunks, as a request packs two payloads
    body = enc.body([units[:half], units[half:]])
    if protocol == "http/json":
        return units, json_format.Parse(body, ExportLogsServiceRequest())
    return units, ExportLogsServiceRequest.FromString(body)


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_records_grouped_by_resource_in_order(protocol):
    units, req = encode(protocol)
    assert units.count(b"\n") == 3 and b"\r" not in units
    assert [attrs(rl.resource.attributes) for rl in req.resource_logs] == [
        {"service.name": "a", "host.name": "h"}, {"service.name": "b", "host.name": "h"}]
    a, b = ([r for sl in rl.scope_logs for r in sl.log_records] for rl in req.resource_logs)
    assert [r.body.string_value for r in a] == ["one\nline", ""]
    assert a[1].body.kvlist_value.values[0].key == "k"
    assert a[0].time_unix_nano == 1795492800_500000000 and a[0].severity_number == 9
    assert b[0].time_unix_nano == 0 and attrs(b[0].attributes)["timestamp"] == "not a time"
    assert attrs(a[1].attributes)["bad"] == "x\ufffd"  # made valid, not dropped
    assert a[1].severity_text == "error" and a[1].severity_number == 17


def test_a_resource_attribute_rendering_empty_is_left_out():
    _, req = encode("http/protobuf", {"host.name": "", "env": "{missing}", "team": "ops-{source}"})
    assert attrs(req.resource_logs[0].resource.attributes) == {"service.name": "a", "team": "ops-a"}


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_dead_letter_lines_are_otlp_json_resource_logs(protocol):
    units, _ = encode(protocol)
    lines = (readable(units) if protocol == "http/protobuf" else units).splitlines()
    parsed = [json_format.ParseDict(orjson.loads(x), ResourceLogs()) for x in lines]
    assert [p.scope_logs[0].log_records[0].body.string_value for p in parsed] == ["one\nline", "two", ""]
    assert orjson.loads(lines[0])["scopeLogs"][0]["logRecords"][0]["timeUnixNano"] == "1795492800500000000"


def test_varint():
    assert [varint(n) for n in (0, 127, 128, 300, 1 << 32)] == [
        b"\x00", b"\x7f", b"\x80\x01", b"\xac\x02", b"\x80\x80\x80\x80\x10"]


def test_partial_success_in_both_forms():
    assert partial_success(partial(3, "too old").body) == (3, "too old")
    assert partial_success(partial(2, "bad", as_json=True).body) == (2, "bad")
    assert partial_success(partial(0, "a hint").body) == (0, "a hint")
    assert partial_success(b"") == (0, "")
    assert partial_success(b"{}") == (0, "")
    assert partial_success(b"\xff\xff") == (0, "")  # unreadable: the 2xx stands


def test_refusal_text():
    assert refusal_text(status(3, "field too long")) == "field too long"
    assert refusal_text(b'{"code": 3, "message": "nope"}') == "nope"
    assert refusal_text(b"<html>bad gateway</html>") == ""
    assert refusal_text(b"") == ""
