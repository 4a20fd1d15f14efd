"""The consumers' half of the otlp sink: a batch of entries to units, one per entry.

A unit is one line (the http sink's batching cuts requests at unit boundaries, see
`logproc.sinks.http.encoders`): the entry's resource opening (`resource`), then its
`LogRecord`:
- http/protobuf: `<base64 Resource> <base64 LogRecord>`: the record serialized here, in
  parallel consumers or worker processes, so the sink thread only decodes base64 and
  frames bytes (`body`). Base64 because a unit is a line: serialized protobuf holds
  newlines;
- http/json: a one-record OTLP/JSON `ResourceLogs` (valid on its own).

The record of an entry:
- `time_unix_nano`: the entry's `timestamp` (RFC 3339) in nanoseconds; when it cannot be
  read, 0 (unknown, as OTLP says) and the text is kept as the attribute `timestamp`;
- `observed_time_unix_nano`: when the consumer encoded the batch. The formatter is not told
  when the source read the lines; encoding follows reading within milliseconds unless the
  queue held the batch (backpressure), so this is the read time to that precision;
- `severity_number` / `severity_text`: from `level` (`severity`);
- `body`: `message` as an AnyValue (a string, or the structure a parser gave); absent
  when the entry has none;
- `attributes`: every other field in entry order (`source`, `file`, `host` and the
  parser's fields included), as AnyValues (`values`).

An entry the encoder refuses (a string holding a lone surrogate) is encoded again with its
text made valid UTF-8 (U+FFFD for each lone surrogate): one odd field never stops a batch.
"""

from __future__ import annotations

import binascii
import re
import time
from collections.abc import Callable
from typing import Any

import orjson

from logproc.sinks.formats import Formatter
from logproc.sinks.http.timefmt import epoch_ns
from logproc.sinks.otlp.resource import build_resource, resource_attributes
from logproc.sinks.otlp.severity import severity
from logproc.sinks.otlp.values import as_json, fill

Entry = dict[str, Any]
NOT_ATTRIBUTES = frozenset(("timestamp", "level", "message"))
_SURROGATE = re.compile("[\ud800-\udfff]")  # the one thing a str holds that UTF-8 cannot


def build_entry_half(cfg: Any) -> Formatter:
    """The formatter of an otlp sink config (reads `protocol` and `resource`)."""
    opening = build_resource(resource_attributes(cfg.resource), cfg.protocol)
    record = json_record if cfg.protocol == "http/json" else protobuf_record()
    closing = b"]}]}" if cfg.protocol == "http/json" else b""

    def otlp_units(entries: list[Entry] | None, raws: list[bytes]) -> bytes:
        if not entries:
            return b""
        observed = time.time_ns()
        out = []
        for entry in entries:
            try:
                rec = record(entry, observed)
            except (ValueError, TypeError, UnicodeError):  # orjson's and protobuf's refusals
                rec = record(_valid_text(entry), observed)
            out.append(b"".join((opening(entry), rec, closing)))
        out.append(b"")
        return b"\n".join(out)

    return otlp_units


def protobuf_record() -> Callable[[Entry, int], bytes]:
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    b64 = binascii.b2a_base64
    skip = NOT_ATTRIBUTES

    def record(entry: Entry, observed: int) -> bytes:
        rec = LogRecord(observed_time_unix_nano=observed)
        ts = entry.get("timestamp")
        ns = epoch_ns(ts)
        if ns is not None:
            rec.time_unix_nano = ns
        number, text = severity(entry.get("level"))
        if text:
            rec.severity_number = number  # type: ignore[assignment]  # an enum's int
            rec.severity_text = text
        if "message" in entry:
            fill(rec.body, entry["message"])
        add = rec.attributes.add
        if ns is None and ts is not None:
            fill(add(key="timestamp").value, ts)
        for key, value in entry.items():
            if key not in skip:
                fill(add(key=key).value, value)
        return b64(rec.SerializeToString(), newline=False)

    return record


def json_record(entry: Entry, observed: int) -> bytes:
    rec: dict[str, Any] = {}
    ts = entry.get("timestamp")
    ns = epoch_ns(ts)
    if ns is not None:
        rec["timeUnixNano"] = str(ns)
    rec["observedTimeUnixNano"] = str(observed)
    number, text = severity(entry.get("level"))
    if text:
        if number:
            rec["severityNumber"] = number
        rec["severityText"] = text
    if "message" in entry:
        rec["body"] = as_json(entry["message"])
    attrs = []
    if ns is None and ts is not None:
        attrs.append({"key": "timestamp", "value": as_json(ts)})
    skip = NOT_ATTRIBUTES
    attrs += [{"key": key, "value": as_json(value)} for key, value in entry.items() if key not in skip]
    if attrs:
        rec["attributes"] = attrs
    return orjson.dumps(rec)


def _valid_text(value: Any) -> Any:
    """`value` with every string (keys too) made encodable as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_valid_text(k): _valid_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_text(v) for v in value]
    return value
