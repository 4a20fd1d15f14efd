"""`json_array`: the body is one JSON array of the entries (`application/json`).

With `format = "json"` each element is the entry object. With another format there is no
object to send, so each element is the entry's formatted line as a JSON string (a
documented choice, not an error: the operator asked for that text).
"""

from __future__ import annotations

from typing import Any

import orjson

from logproc.sinks.formats import Formatter, build_formatter, format_json
from logproc.sinks.http.encoders import Encoding, entry_lines


def body(chunks: list[bytes]) -> bytes:
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    # units hold no raw newline (JSON escapes it), so the newlines are exactly the separators
    return b"[" + data[:-1].replace(b"\n", b",") + b"]"


def build(cfg: Any) -> Encoding:
    if cfg.format == "json":
        return Encoding("json_array", "application/json", format_json, body)
    fmt = build_formatter(cfg)

    def as_strings(entries: list[dict[str, Any]] | None, raws: list[bytes]) -> bytes:
        if not entries:
            return b""
        dumps = orjson.dumps
        out = [dumps(line.decode("utf-8", "replace")) for line in entry_lines(fmt, entries, raws)]
        out.append(b"")
        return b"\n".join(out)

    entry_half: Formatter = as_strings
    return Encoding("json_array", "application/json", entry_half, body)
