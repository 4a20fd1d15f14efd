"""`loki`: the Loki push API's JSON body (`POST /loki/api/v1/push`, `application/json`):

    {"streams":[{"stream":{"source":"app","level":"info"},
                 "values":[["1795665600123456000","<line>"], …]}, …]}

- labels: `labels` (default `{source="{source}", host="{host}", level="{level}"}`), each
  value a template naming entry fields; a missing field renders empty, and a label whose
  value renders empty is left out (Loki refuses empty label values). Labels keep their
  configured order.
- the line: the entry in `format` (default json), without its newline;
- the timestamp: the entry's `timestamp` in nanoseconds since the epoch, as a decimal
  string; an entry without a readable one gets the time it was encoded;
- one stream per label set in a request, its values sorted by timestamp (stable, so lines
  with the same time keep their order).

A unit is a one-entry stream, a valid Loki stream on its own (dead letters can be pushed
again as they are). The request half finds the stream's labels by the first
`,"values":[` in the unit: a `"` inside a JSON string is always escaped, so that text can
only be the structural one.
"""

from __future__ import annotations

import time
from operator import itemgetter
from typing import Any

import orjson

from logproc.sinks.formats import Formatter, build_formatter, compile_template, format_json, value_text
from logproc.sinks.http.encoders import Encoding, entry_lines
from logproc.sinks.http.timefmt import epoch_ns

DEFAULT_LABELS = {"source": "{source}", "host": "{host}", "level": "{level}"}
_VALUES = b',"values":['
_CACHE_MAX = 4096


def build_labels(labels: dict[str, str]) -> Any:
    """`labels(entry) -> bytes`: the unit's opening `{"stream":{…}`, cached per label set."""
    compiled = [(name, compile_template(tpl)) for name, tpl in labels.items()]
    single = [(name, parts[0][1]) for name, parts in compiled
              if len(parts) == 1 and not parts[0][0] and parts[0][1]]
    if len(single) == len(compiled):  # every value is one plain field: the common case
        fields = [f for _, f in single]

        def values(entry: dict[str, Any]) -> tuple[Any, ...]:
            get = entry.get
            return tuple(get(f) for f in fields)
    else:
        def values(entry: dict[str, Any]) -> tuple[Any, ...]:
            get = entry.get
            return tuple("".join(lit + (value_text(get(f)) if f else "") for lit, f in parts)
                         for _, parts in compiled)

    names = [name for name, _ in compiled]
    cache: dict[tuple[Any, ...], bytes] = {}

    def opening(entry: dict[str, Any]) -> bytes:
        key = values(entry)
        try:
            found = cache.get(key)
        except TypeError:  # an unhashable field value (a list): render it, uncached
            found = None
            key = tuple(value_text(v) for v in key)
        if found is None:
            rendered = {n: v if v.__class__ is str else value_text(v)
                        for n, v in zip(names, key, strict=True)}
            found = b'{"stream":' + orjson.dumps({n: v for n, v in rendered.items() if v})
            if len(cache) >= _CACHE_MAX:  # label values come from the data: stay bounded
                cache.clear()
            cache[key] = found
        return found

    return opening


def escaped_lines(cfg: Any) -> Any:
    """`lines(entries, raws)`: each entry's line in `format`, escaped for the inside of a
    JSON string. A json line holds no raw control character (orjson escapes them), so the
    whole batch is escaped in two C calls; the other formats go line by line."""
    fmt = build_formatter(cfg)
    if fmt is format_json:
        def json_lines(entries: list[dict[str, Any]], raws: list[bytes]) -> list[bytes]:
            lines = fmt(entries, raws).replace(b"\\", b"\\\\").replace(b'"', b'\\"').split(b"\n")
            lines.pop()
            return lines
        return json_lines

    def other_lines(entries: list[dict[str, Any]], raws: list[bytes]) -> list[bytes]:
        dumps = orjson.dumps
        return [dumps(line.decode("utf-8", "replace"))[1:-1] for line in entry_lines(fmt, entries, raws)]
    return other_lines


def build_entry_half(cfg: Any) -> Formatter:
    lines_of = escaped_lines(cfg)
    opening = build_labels(cfg.labels if cfg.labels is not None else DEFAULT_LABELS)

    def loki_units(entries: list[dict[str, Any]] | None, raws: list[bytes]) -> bytes:
        if not entries:
            return b""
        now = str(time.time_ns()).encode()
        out: list[bytes] = []
        last_ts: Any = None
        ns = now
        for entry, line in zip(entries, lines_of(entries, raws), strict=True):
            ts = entry.get("timestamp")
            if ts != last_ts:  # entries of a batch often share their time: parse it once
                last_ts = ts
                n = epoch_ns(ts)
                ns = b"%d" % n if n is not None else now
            out.append(b"".join((opening(entry), b',"values":[["', ns, b'","', line, b'"]]}')))
        out.append(b"")
        return b"\n".join(out)

    return loki_units


def body(chunks: list[bytes]) -> bytes:
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    streams: dict[bytes, list[tuple[int, bytes]]] = {}
    for unit in data.split(b"\n"):
        if not unit:
            continue
        i = unit.index(_VALUES)
        value = unit[i + 11:-2]  # ["<ns>","<line>"]
        streams.setdefault(unit[:i], []).append((int(value[2:value.index(b'"', 2)]), value))
    parts = []
    first = itemgetter(0)
    for opening, values in streams.items():
        values.sort(key=first)
        parts.append(b"%s%s%s]}" % (opening, _VALUES, b",".join([v for _, v in values])))
    return b'{"streams":[' + b",".join(parts) + b"]}"


def build(cfg: Any) -> Encoding:
    return Encoding("loki", "application/json", build_entry_half(cfg), body)
