"""Reading what an OTLP/HTTP receiver answered.

- A 2xx carries an `ExportLogsServiceResponse` (protobuf or JSON, as the request was):
  `partial_success(body)` → `(rejected_log_records, error_message)`, `(0, "")` when the
  body is empty or unreadable (the status said the request was accepted; a body that
  cannot be read takes nothing back from that).
- A refusal carries a `google.rpc.Status`: `refusal_text(body)` is its `message` (field 2
  of the protobuf form, `message` of the JSON form) for the dead-letter reason, or "".

A body that starts with `{` is read as JSON whatever the protocol (receivers behind
proxies answer errors in JSON); protobuf otherwise. Only the first `MAX_RESPONSE` bytes
(the http client's bound) are ever seen.
"""

from __future__ import annotations

from typing import Any

import orjson


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def partial_success(body: bytes) -> tuple[int, str]:
    """`(rejected_log_records, error_message)` of a 2xx answer (see the module doc)."""
    if not body:
        return 0, ""
    if body.lstrip()[:1] == b"{":
        doc = _json(body) or {}
        part = doc.get("partialSuccess", doc.get("partial_success"))
        if not isinstance(part, dict):
            return 0, ""
        try:
            rejected = int(part.get("rejectedLogRecords", part.get("rejected_log_records", 0)) or 0)
        except (TypeError, ValueError):
            rejected = 0
        message = part.get("errorMessage", part.get("error_message", ""))
        return rejected, message if isinstance(message, str) else str(message)
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    try:
        resp = ExportLogsServiceResponse.FromString(body)
    except DecodeError:
        return 0, ""
    return resp.partial_success.rejected_log_records, resp.partial_success.error_message


def refusal_text(body: bytes) -> str:
    """The `message` of the `google.rpc.Status` a refusal carries ("" when none)."""
    if not body:
        return ""
    if body.lstrip()[:1] == b"{":
        message = (_json(body) or {}).get("message")
        return message if isinstance(message, str) else ""
    try:
        return _status_message(body)
    except (IndexError, UnicodeDecodeError):
        return ""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, i
        shift += 7


def _status_message(body: bytes) -> str:
    # google.rpc.Status: code = 1 (varint), message = 2 (string), details = 3 (repeated Any);
    # read by hand: the Status class is not in opentelemetry-proto
    i = 0
    while i < len(body):
        key, i = _varint(body, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(body, i)
        elif wire == 2:
            size, i = _varint(body, i)
            if number == 2:
                return body[i:i + size].decode("utf-8")
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            return ""
    return ""
