"""Types of the entry pipeline and the few pieces every parser shares.

An entry is a plain ``dict`` (speed: no per-entry object), keys in this order: ``timestamp``,
``level`` (when known), ``message``, the parser's fields, ``source``, ``file``, ``host``, then
``line_part`` / ``parse_error`` when they apply. A parser returns whole entries, metadata
included, so that no later step has to rebuild a dict to put a key in its place.

The metadata always means the same thing: ``source`` is the source's name, ``file`` the path
read, ``host`` this machine. A line's own field of one of those names (a JSON or logfmt key, a
regex group) is never dropped and never overwrites the metadata: it is renamed in its place,
by one rule for every parser (:data:`RESERVED`):

- ``host`` becomes ``hostname`` (the host the line names, as the syslog parser calls it and
  the syslog sinks read it), ``source`` becomes ``source_field``, ``file`` becomes
  ``file_field``;
- when the line already has a field of that name too, the moved value takes its own name
  with ``_field`` appended, as many times as it takes to find a free name (``host_field``,
  ``source_field_field``), so both values are kept. Example: ``{"host": "a", "hostname":
  "b", "source": "c"}`` gives ``host_field = a``, ``hostname = b``, ``source_field = c``,
  then the metadata.

(The syslog, access-log and plain parsers have fixed field names, none of them metadata.)
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

#: A line's own field named like the metadata -> the name it takes (see the module docstring).
#: Why a suffix: Vector (legacy namespace) lets its metadata overwrite such keys and Filebeat's
#: JSON decoding drops them unless told to overwrite its own, so neither keeps both; a ``_``
#: prefix would give ``_source``, a metadata field Elasticsearch refuses in a document (the
#: elasticsearch HTTP encoding would fail the whole entry).
RESERVED = {"host": "hostname", "source": "source_field", "file": "file_field"}


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
    """``fields`` with ``host``, ``source`` and ``file`` renamed in place, by the rule of the
    module docstring: no value is lost, no key is left for the metadata to overwrite.

    Slow path: only called for the lines that have one of those keys.
    """
    out: Entry = {}
    for key, value in fields.items():
        new = RESERVED.get(key)
        if new is not None and new in fields:  # taken by the line itself: both are kept
            new = key + "_field"
            while new in fields:
                new += "_field"
        out[key if new is None else new] = value
    return out
