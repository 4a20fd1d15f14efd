"""The resource of each entry's log record, and the opening of its unit.

`resource` (config) maps attribute names to templates naming entry fields
(`{"service.name" = "{source}"}`), over the defaults `service.name = "{source}"` and
`host.name = "{host}"`: a configured name replaces its default, other defaults stay. A
value renders as text (a missing field renders empty; true/false, JSON for maps and
lists); an attribute whose value renders empty is left out, so `"host.name" = ""` removes
that default.

Resources vary per entry only through the fields they name, so `build_resource` caches
the encoded opening by those fields' values (bounded: the values come from the data):
per entry, one tuple and one dict look-up. The opening is what `units` puts before the
record:
- http/protobuf: the serialized `Resource`, base64, and a space (`units` adds the record);
- http/json: `{"resource":{…},"scopeLogs":[{"scope":{…},"logRecords":[` (the record and
  `]}]}` follow: a unit is a one-record OTLP/JSON `ResourceLogs`).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

import orjson

from logproc import __version__
from logproc.sinks.formats import compile_template, value_text

DEFAULT_RESOURCE = {"service.name": "{source}", "host.name": "{host}"}
SCOPE = {"name": "logproc", "version": __version__}  # the InstrumentationScope of every record
JSON_RECORDS = b'"logRecords":['  # where a JSON unit's opening ends
_CACHE_MAX = 4096


def resource_attributes(configured: dict[str, str]) -> dict[str, str]:
    """The resource templates in force: the defaults, then the configured ones over them."""
    return {**DEFAULT_RESOURCE, **configured}


def encode_protobuf(attrs: list[tuple[str, str]]) -> bytes:
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    res = Resource()
    for name, value in attrs:
        res.attributes.add(key=name).value.string_value = value
    return binascii.b2a_base64(res.SerializeToString(), newline=False) + b" "


def encode_json(attrs: list[tuple[str, str]]) -> bytes:
    resource = {"attributes": [{"key": n, "value": {"stringValue": v}} for n, v in attrs]}
    opening = orjson.dumps({"resource": resource, "scopeLogs": [{"scope": SCOPE}]})
    return opening[:-3] + b"," + JSON_RECORDS  # cut `}]}`: the records join the scope's object


def build_resource(templates: dict[str, str], protocol: str) -> Callable[[dict[str, Any]], bytes]:
    """`opening(entry) -> bytes`: the encoded resource of `entry` (see the module doc)."""
    encode = encode_json if protocol == "http/json" else encode_protobuf
    compiled = [(name, compile_template(tpl)) for name, tpl in templates.items()]
    fields = tuple(dict.fromkeys(f for _, parts in compiled for _, f in parts if f is not None))
    cache: dict[tuple[Any, ...], bytes] = {}

    def render(entry: dict[str, Any]) -> bytes:
        get = entry.get
        attrs = []
        for name, parts in compiled:
            text = "".join(lit + (value_text(get(f)) if f is not None else "") for lit, f in parts)
            if text:
                attrs.append((name, text))
        return encode(attrs)

    def opening(entry: dict[str, Any]) -> bytes:
        get = entry.get
        key = tuple([get(f) for f in fields])
        try:
            found = cache.get(key)
        except TypeError:  # an unhashable value (a list): rendered each time
            return render(entry)
        if found is None:
            found = render(entry)
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[key] = found
        return found

    return opening
