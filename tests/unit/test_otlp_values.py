"""Entry values as OTLP AnyValues: the protobuf form (`fill`) and the OTLP/JSON form
(`as_json`) agree, the JSON form follows the proto3 JSON mapping (parsed strictly by
protobuf's own parser), and each Python type gets its AnyValue kind."""

from __future__ import annotations

import math

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from logproc.sinks.otlp.values import as_json, fill

CASES = [
    ("text", "string_value"),
    ("", "string_value"),
    (True, "bool_value"),
    (False, "bool_value"),
    (0, "int_value"),
    (-(1 << 63), "int_value"),
    ((1 << 63) - 1, "int_value"),
    (1 << 64, "string_value"),  # past int64: its text, nothing cut
    (1.5, "double_value"),
    (float("inf"), "double_value"),
    ({"a": 1, "b": {"c": [None]}}, "kvlist_value"),
    ({}, "kvlist_value"),
    ([1, "x", 2.5, False], "array_value"),
    ([], "array_value"),
    (b"\x00\xff", "bytes_value"),
    (None, None),
    (object, "string_value"),
]


def protobuf(value):
    av = AnyValue()
    fill(av, value)
    return av


@pytest.mark.parametrize(("value", "kind"), CASES, ids=[repr(c[0])[:20] for c in CASES])
def test_kind_and_both_forms_agree(value, kind):
    av = protobuf(value)
    assert av.WhichOneof("value") == kind
    parsed = json_format.Parse(orjson.dumps(as_json(value)), AnyValue())
    assert parsed == av


def test_json_form_follows_the_proto3_mapping():
    assert as_json(7) == {"intValue": "7"}  # 64-bit integers as strings
    assert as_json(b"hi") == {"bytesValue": "aGk="}  # bytes as base64
    assert as_json(float("nan")) == {"doubleValue": "NaN"}
    assert as_json(float("-inf")) == {"doubleValue": "-Infinity"}
    assert as_json({1: "x"}) == {"kvlistValue": {"values": [{"key": "1", "value": {"stringValue": "x"}}]}}
    assert as_json(None) == {}


def test_values_round_trip():
    value = {"user": "bob", "n": 42, "tags": ["a", {"deep": [1.25, True]}], "none": None}
    av = protobuf(value)
    kv = {e.key: e.value for e in av.kvlist_value.values}
    assert kv["n"].int_value == 42 and kv["none"].WhichOneof("value") is None
    deep = kv["tags"].array_value.values[1].kvlist_value.values[0]
    assert deep.key == "deep" and deep.value.array_value.values[0].double_value == 1.25
    assert math.isnan(protobuf(float("nan")).double_value)
