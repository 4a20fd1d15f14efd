"""The sink's half: the units of one request to an `ExportLogsServiceRequest` body, and a
unit to the form the dead-letter file keeps.

Units with the same resource opening share one `ResourceLogs` (one `ScopeLogs`, scope
`logproc`), resources in the order first seen, records in unit order.

- http/protobuf: protobuf's repeated message fields are tag, length, bytes, one after the
  other, so the body is framed by hand around the records' bytes as the consumers
  serialized them: per record a base64 decode and a length prefix, no message object;
- http/json: `{"resourceLogs":[<opening><record>,<record>…]}]}, …]}`, by slicing units.

Dead letters (`readable`): every unit of either protocol is kept as a one-record
OTLP/JSON `ResourceLogs` line, so an operator reads the records and can send them again
wrapped as `{"resourceLogs":[<line>]}` (a protobuf unit is decoded and written in the
proto3 JSON mapping; this runs only for refused requests).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable

import orjson

from logproc.sinks.otlp.resource import JSON_RECORDS, SCOPE

_SMALL = [bytes((n,)) for n in range(128)]


def varint(n: int) -> bytes:
    """`n` (≥ 0) as a protobuf base-128 varint."""
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field: its tag byte(s), the length, the bytes."""
    return b"".join((tag, varint(len(data)), data))


# field numbers (opentelemetry/proto/logs/v1/logs.proto, collector/logs/v1/logs_service.proto),
# all length-delimited (wire type 2): tag = number << 3 | 2
REQUEST_RESOURCE_LOGS = b"\x0a"  # ExportLogsServiceRequest.resource_logs = 1
RESOURCE = b"\x0a"  # ResourceLogs.resource = 1
SCOPE_LOGS = b"\x12"  # ResourceLogs.scope_logs = 2
SCOPE_FIELD = b"\x0a"  # ScopeLogs.scope = 1
LOG_RECORDS = b"\x12"  # ScopeLogs.log_records = 2


def protobuf_body() -> Callable[[list[bytes]], bytes]:
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

    scope_msg = InstrumentationScope(name=SCOPE["name"], version=SCOPE["version"])
    scope = field(SCOPE_FIELD, scope_msg.SerializeToString())
    a2b = binascii.a2b_base64

    def body(chunks: list[bytes]) -> bytes:
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        groups: dict[bytes, list[bytes]] = {}
        for unit in data.split(b"\n"):
            if unit:
                res, _, rec = unit.partition(b" ")
                raw = a2b(rec)
                parts = groups.get(res)
                if parts is None:
                    parts = groups[res] = [scope]
                parts += (LOG_RECORDS, varint(len(raw)), raw)
        out = []
        for res, parts in groups.items():
            resource_logs = field(RESOURCE, a2b(res)) + field(SCOPE_LOGS, b"".join(parts))
            out.append(field(REQUEST_RESOURCE_LOGS, resource_logs))
        return b"".join(out)

    return body


def json_body(chunks: list[bytes]) -> bytes:
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    groups: dict[bytes, list[bytes]] = {}
    for unit in data.split(b"\n"):
        if unit:
            # the first `"logRecords":[` is the structural one: a quote inside a JSON string
            # is always escaped
            i = unit.index(JSON_RECORDS) + len(JSON_RECORDS)
            groups.setdefault(unit[:i], []).append(unit[i:-4])
    parts = [opening + b",".join(records) + b"]}]}" for opening, records in groups.items()]
    return b'{"resourceLogs":[' + b",".join(parts) + b"]}"


def readable(payload: bytes) -> bytes:
    """Protobuf units (lines) as one-record OTLP/JSON `ResourceLogs` lines; a line that is
    not a protobuf unit is kept as it is."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    out = []
    for unit in payload.split(b"\n"):
        if not unit:
            continue
        res, sep, rec = unit.partition(b" ")
        try:
            if not sep:
                raise ValueError("not a protobuf unit")
            resource = MessageToDict(Resource.FromString(binascii.a2b_base64(res)))
            record = MessageToDict(LogRecord.FromString(binascii.a2b_base64(rec)),
                                   use_integers_for_enums=True)
        except (ValueError, binascii.Error, DecodeError):
            out.append(unit)
            continue
        out.append(orjson.dumps({"resource": resource,
                                 "scopeLogs": [{"scope": SCOPE, "logRecords": [record]}]}))
    out.append(b"")
    return b"\n".join(out)
