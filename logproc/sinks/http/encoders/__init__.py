"""Wire encodings of the http sink, each split in two halves.

The *entry half* runs in the consumers (in parallel, per batch): it turns a batch's entries
into the delivery payload, made of **units**: one line per entry, ending in `\\n`, holding
no other newline, and already encoded for the wire as far as one entry can be. The *request
half* (`body`) runs in the sink: it turns the units of one request (whole units, in
order, concatenated in one or more chunks) into the request body, with as little
per-entry work as the format allows.

Units are what the dead-letter file shows as `entry` (it splits payloads on newlines), so
each unit is chosen to be useful there on its own:

| encoding        | unit                                             | body                          |
|-----------------|--------------------------------------------------|-------------------------------|
| `ndjson`        | the entry in `format`                            | the units                     |
| `json_array`    | the entry as a JSON value                        | `[unit,unit,…]`               |
| `loki`          | one-entry stream `{"stream":…,"values":[[t,l]]}` | streams merged by label set   |
| `elasticsearch` | `[action,document]` (a JSON array)               | `action\\ndocument\\n` per unit |

Rejected: keeping entries (dicts) in the delivery and encoding everything in the sink.
The sink is one thread; encoding there would serialise the per-entry work the consumers
can share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logproc.sinks.formats import Formatter


@dataclass(frozen=True, slots=True)
class Encoding:
    name: str
    content_type: str
    entry_half: Formatter
    body: Callable[[list[bytes]], bytes]
    bulk: bool = False  # the response reports each item (elasticsearch `_bulk`)


def build_encoding(cfg: Any) -> Encoding:
    """The encoding an `HttpSinkConfig` names (imports only that one)."""
    if cfg.encoding == "ndjson":
        from logproc.sinks.http.encoders.ndjson import build
    elif cfg.encoding == "json_array":
        from logproc.sinks.http.encoders.json_array import build
    elif cfg.encoding == "loki":
        from logproc.sinks.http.encoders.loki import build
    elif cfg.encoding == "elasticsearch":
        from logproc.sinks.http.encoders.elasticsearch import build
    else:  # the schema makes this unreachable
        raise ValueError(f"unknown encoding {cfg.encoding!r}")
    return build(cfg)


def entry_lines(fmt: Formatter, entries: list[dict[str, Any]], raws: list[bytes]) -> list[bytes]:
    """The batch formatted by `fmt`, one line per entry, without newlines.

    `raw` reads raw lines, which line up with the entries only when no filter dropped any
    and no multiline join happened: when they do not, each entry's `message` stands in.
    """
    lines = fmt(entries, raws).split(b"\n")
    lines.pop()  # every format ends its last line with "\n"
    if len(lines) != len(entries):
        return [str(e.get("message", "")).replace("\n", "\\n").encode("utf-8", "replace") for e in entries]
    return lines
