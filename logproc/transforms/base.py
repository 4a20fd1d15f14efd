"""Types of the entry pipeline and the few pieces every parser shares.

An entry is a plain ``dict`` (speed: no per-entry object), keys in this order: ``timestamp``,
``level`` (when known), ``message``, the parser's fields, ``source``, ``file``, ``host``, then
``line_part`` / ``parse_error`` when they apply. A parser returns whole entries, metadata
included, so that no later step has to rebuild a dict to put a key in its place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Entry = dict[str, Any]

#: ``parser(lines, path, read_time) -> (entries, n_parse_errors)``; one entry per line.
Parser = Callable[[list[bytes], str, float], tuple[list[Entry], int]]

#: Works on a whole batch in place (it may replace items of the list).
Transform = Callable[[list[Entry]], None]

#: ``pipeline(lines, parts, path, read_time) -> (entries, n_parse_errors)``.
SourcePipeline = Callable[[list[bytes], list[int] | None, str, float], tuple[list[Entry], int]]

#: Parser fields that clash with the metadata: ``host`` is renamed ``hostname``, the others
#: are overwritten by the metadata (they are dropped here so the metadata keeps its place).
RESERVED = frozenset(("host", "source", "file"))


def decode(line: bytes) -> str:
    """Bytes as text; invalid UTF-8 becomes U+FFFD, never an error."""
    return line.decode("utf-8", "replace")


def bad_entry(read_ts: str, text: str, meta: Entry, why: str) -> Entry:
    """The entry for a line its parser could not read: kept whole, with ``parse_error``."""
    entry: Entry = {"timestamp": read_ts, "message": text}
    entry.update(meta)
    entry["parse_error"] = why
    return entry


def move_reserved(fields: Entry) -> Entry:
    """``fields`` without ``source``/``file``, and with ``host`` renamed ``hostname`` in place.

    When both ``host`` and ``hostname`` are present the later one's value wins, at the
    position of the first (the same rule as ``rename``).
    """
    return {
        ("hostname" if key == "host" else key): value
        for key, value in fields.items()
        if key not in {"source", "file"}
    }
