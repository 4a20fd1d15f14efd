"""``parser = "json"``: one JSON object per line, decoded by orjson.

The object's keys become the entry's fields (see :mod:`.structured` for how ``timestamp``,
``level`` and ``message`` are found). Values keep their JSON types; nested objects and arrays
stay nested (entries are flat at the top level only).

Bad lines, kept with ``parse_error``: text that is not JSON (``invalid JSON: <orjson's
reason>``) and JSON that is not an object (``not a JSON object``). orjson refuses invalid
UTF-8 outright, so such a line is retried once with the bad bytes replaced by U+FFFD (and a
leading byte-order mark dropped) before it is declared bad.
"""

from __future__ import annotations

from datetime import tzinfo

import orjson

from logproc.transforms.base import Entry, Parser, decode
from logproc.transforms.structured import build_structured


def build_json_parser(name: str, host: str, tz: tzinfo | None) -> Parser:
    """The json parser of source ``name``; ``tz`` reads times written without a zone."""
    # orjson.loads itself is the per-line call: no Python layer on the fast path.
    return build_structured(name, host, tz, orjson.loads, _explain)


def _explain(line: bytes) -> Entry | str:
    """A line orjson refused or that is not an object: the retried dict, or why it is bad."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:  # U+FFFD for invalid UTF-8; a byte-order mark (first line of some files) dropped
            value = orjson.loads(decode(line).removeprefix("\ufeff"))
        except orjson.JSONDecodeError as exc:
            return f"invalid JSON: {exc}"
    if value.__class__ is not dict:
        return "not a JSON object"
    return value
