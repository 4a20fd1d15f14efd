"""The shared loop of the parsers that turn a line into a mapping (json, logfmt, regex).

Given the parser's mapping for a line, the entry is built as:

- ``timestamp``: the first of the time keys (json/logfmt: ``timestamp``, ``time``, ``ts``,
  ``@timestamp``) whose value parses (see :mod:`.timestamps`); that key is consumed. When a
  ``timestamp`` key exists but does not parse, its value moves to ``timestamp_raw`` (the
  first parser field), since the entry's own ``timestamp`` takes the name. No time in the
  line: the batch's read time.
- ``level``: the first level key present (``level``, ``severity``, ``lvl``, ``loglevel``),
  consumed and normalised (:mod:`.levels`); a null value means no level.
- ``message``: ``message``, else ``msg`` (consumed), else the whole line, as decoded text.
- the remaining fields in the parser's order, ``host``, ``source`` and ``file`` renamed in
  place so that the metadata keeps its names and meaning (``hostname``, ``source_field``,
  ``file_field``: the rule is in :mod:`.base`), then the metadata.

A line the parser refuses becomes a bad entry (``parse_error``), never a dropped line.

Hot path: the common case (a canonical ``timestamp``, a string ``level`` spelled in one of
the table's spellings, a ``message``) costs three ``dict.pop`` calls, two slices and a set
lookup (a regex match when the second differs from the line before), one dict lookup and
one dict display beyond the parse itself; everything else is on slow paths
that are only called when the fast checks miss. Building a new dict is the price of the
documented key order (about a quarter of the per-line cost over ``orjson.loads``); updating
the parsed dict in place would keep the line's own order instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from logproc.transforms.base import Entry, Parser, bad_entry, decode, move_reserved
from logproc.transforms.levels import LEVEL_NAMES, normalize_level
from logproc.transforms.timestamps import format_epoch, match_canonical, parse_time

TIME_KEYS = ("timestamp", "time", "ts", "@timestamp")
LEVEL_KEYS = ("level", "severity", "lvl", "loglevel")
MESSAGE_KEYS = ("message", "msg")

_MISSING: Any = object()

#: What may follow a canonical time's seconds, but microseconds: with the seconds seen on
#: the line before (``last_second``), one set lookup instead of the regex (~300 ns/line).
_SHORT_TAILS = frozenset(["Z", *(f".{ms:03d}Z" for ms in range(1000))])


def build_structured(
    name: str,
    host: str,
    tz: tzinfo | None,
    fields_of: Callable[[bytes], Any],
    explain: Callable[[bytes], Entry | str],
    *,
    time_keys: tuple[str, ...] = TIME_KEYS,
    level_keys: tuple[str, ...] = LEVEL_KEYS,
    message_keys: tuple[str, ...] = MESSAGE_KEYS,
) -> Parser:
    """A parser over ``fields_of(line)``, which returns a dict, or raises ``ValueError`` or
    returns a non-dict for a line it cannot read; then ``explain(line)`` gives a recovered
    dict (a retry) or the ``parse_error`` text.
    """
    time_key, more_time_keys = time_keys[0], time_keys[1:]
    level_key, more_level_keys = level_keys[0], level_keys[1:]
    message_key, more_message_keys = message_keys[0], message_keys[1:]

    def find_time(fields: Entry, first: Any) -> tuple[str | None, Any]:
        """(time, raw): consumes the first key whose value parses; raw is the refused
        ``timestamp`` value or _MISSING."""
        raw = _MISSING
        if first is not _MISSING:
            found = parse_time(first, tz)
            if found is not None:
                return found, _MISSING
            raw = first
        for key in more_time_keys:
            if key in fields:
                found = parse_time(fields[key], tz)
                if found is not None:
                    del fields[key]
                    return found, raw
        return None, raw

    def find_other(fields: Entry, keys: tuple[str, ...]) -> Any:
        for key in keys:
            if key in fields:
                return fields.pop(key)
        return None

    def parse(lines: list[bytes], path: str, read_time: float) -> tuple[list[Entry], int]:
        # Everything the loop touches is a local: no global or attribute lookups per line.
        pop, canonical, level_names, normalize = dict.pop, match_canonical, LEVEL_NAMES.get, normalize_level
        fields_of_, explain_, missing = fields_of, explain, _MISSING
        short_tails, last_second = _SHORT_TAILS, "-"
        read_ts = format_epoch(read_time)
        meta: Entry = {"source": name, "file": path, "host": host}
        out: list[Entry] = []
        append = out.append
        n_bad = 0
        for line in lines:
            try:
                fields = fields_of_(line)
            except ValueError:
                fields = None
            if fields.__class__ is not dict:
                fields = explain_(line)
                if fields.__class__ is str:
                    n_bad += 1
                    append(bad_entry(read_ts, decode(line), meta, fields))
                    continue

            value = pop(fields, time_key, missing)
            if value.__class__ is str and value[19:] in short_tails and value[:19] == last_second:
                ts = value  # canonical: the second was checked on an earlier line of the batch
            elif value.__class__ is str and canonical(value) is not None:
                ts = value
                last_second = value[:19]
            else:
                found, raw = find_time(fields, value)
                ts = read_ts if found is None else found
                if raw is not missing:
                    fields = {"timestamp_raw": raw, **fields}

            value = pop(fields, level_key, missing)
            if value is missing:
                value = find_other(fields, more_level_keys)
            level = level_names(value) if value.__class__ is str else None
            if level is None:
                level = normalize(value)

            message = pop(fields, message_key, None)
            if message is None:  # absent or null: the next key, else the whole line
                message = find_other(fields, more_message_keys) if more_message_keys else None
                if message is None:
                    message = decode(line)

            if "host" in fields or "source" in fields or "file" in fields:
                fields = move_reserved(fields)
            # One dict display builds the entry in its final key order.
            if level is None:
                append({"timestamp": ts, "message": message, **fields, **meta})
            else:
                append({"timestamp": ts, "level": level, "message": message, **fields, **meta})
        return out, n_bad

    return parse
