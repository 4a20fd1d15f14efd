"""An OTLP/HTTP logs receiver for tests: `logproc.testing.HttpTestServer` (loopback,
gzip-aware, faults by script) whose requests are decoded with opentelemetry-proto's
`ExportLogsServiceRequest`, from protobuf or from OTLP/JSON by content type.

Also the answers a receiver gives: `partial(rejected, message)` (a 200 with
`partial_success`) and `status(code, message)` (a `google.rpc.Status` refusal body).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from logproc.testing import HttpTestServer, Received, Reply


def decode(r: Received) -> ExportLogsServiceRequest:
    """The request `r` carried (JSON is parsed strictly: the proto3 JSON mapping)."""
    if r.headers.get("content-type") == "application/json":
        return json_format.Parse(r.body, ExportLogsServiceRequest())
    assert r.headers.get("content-type") == "application/x-protobuf", r.headers
    return ExportLogsServiceRequest.FromString(r.body)


def attrs(kvs: Any) -> dict[str, Any]:
    """Key-value pairs as a dict of plain Python values."""
    return {kv.key: value(kv.value) for kv in kvs}


def value(av: Any) -> Any:
    kind = av.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return attrs(av.kvlist_value.values)
    if kind == "array_value":
        return [value(v) for v in av.array_value.values]
    return getattr(av, kind)


def records(server: HttpTestServer, ok_only: bool = True) -> list[tuple[dict[str, Any], Any]]:
    """(resource attributes, LogRecord) of every record received, in arrival order."""
    out = []
    for r in list(server.received):
        if ok_only and not 200 <= r.status < 300:
            continue
        for rl in decode(r).resource_logs:
            res = attrs(rl.resource.attributes)
            for sl in rl.scope_logs:
                assert sl.scope.name == "logproc"
                out += [(res, rec) for rec in sl.log_records]
    return out


def partial(rejected: int, message: str, as_json: bool = False) -> Reply:
    if as_json:  # proto3 JSON: the int64 count as a string
        doc = {"partialSuccess": {"rejectedLogRecords": str(rejected), "errorMessage": message}}
        return Reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
    resp = ExportLogsServiceResponse()
    resp.partial_success.rejected_log_records = rejected
    resp.partial_success.error_message = message
    return Reply(200, resp.SerializeToString(), {"Content-Type": "application/x-protobuf"})


def status(code: int, message: str) -> bytes:
    """A `google.rpc.Status` (code = 1, message = 2) in protobuf, written by hand."""
    text = message.encode()
    return bytes((0x08, code, 0x12, len(text))) + text
