"""The `journald` parser: one line of `journalctl -o json` becomes one entry.

Fields, in this order (see :mod:`.base` for the key order of every entry):

- ``timestamp`` from ``__REALTIME_TIMESTAMP`` (microseconds since the epoch, canonical
  RFC 3339 UTC text); the read time when it is absent or not a time after 1973;
- ``level`` from ``PRIORITY`` 0-7 as the syslog parser maps severities (0, 1, 2 →
  critical, 3 → error, 4 → warning, 5 → notice, 6 → info, 7 → debug); another value
  stays as the field ``priority``, with no level;
- ``message`` from ``MESSAGE`` (always present: "" when the entry has none);
- ``hostname`` (``_HOSTNAME``), ``unit`` (``_SYSTEMD_UNIT``), ``pid`` (``_PID``, an int
  when it is one), ``app_name`` (``SYSLOG_IDENTIFIER``), when the entry has them;
- every other field, its name lower-cased (``_TRANSPORT`` → ``_transport``, ``_BOOT_ID``
  → ``_boot_id``: the leading ``_`` of the journal's trusted fields is kept, so a field
  an application sent cannot pass for one). A lower-cased name that is one of the names
  above or the metadata (``source``, ``file``, ``host``) gets ``_field`` appended, as
  often as it takes (an application's ``UNIT`` → ``unit_field``), so no value is lost.
  Dropped: the journal's address fields, names starting with ``__`` (``__CURSOR``,
  ``__MONOTONIC_TIMESTAMP``, ``__SEQNUM``, ``__SEQNUM_ID``): positions, not data;
- then ``source``, ``file`` (``journald``), ``host``.

Values: journalctl prints a field that is not valid UTF-8 (or holds control characters)
as an array of byte values: it is decoded as UTF-8 with U+FFFD for invalid bytes; a field
an entry has several times is an array of its values (each decoded the same way; for
``MESSAGE`` they are joined with newlines). Multi-line messages stay one entry. A null
value (a large field printed without ``--all``; the source always passes ``--all``) stays
null. A line that is not a JSON object is a bad line, kept whole with ``parse_error``.
"""

from __future__ import annotations

from typing import Any

import orjson

from logproc.transforms.base import Entry, Parser, bad_entry, decode
from logproc.transforms.parse_syslog import SEVERITY_LEVELS
from logproc.transforms.timestamps import format_epoch, parse_time

FILE = "journald"
#: journal field -> entry field, in the entry's order after timestamp, level and message
MAPPED = {"_HOSTNAME": "hostname", "_SYSTEMD_UNIT": "unit", "_PID": "pid", "SYSLOG_IDENTIFIER": "app_name"}
_TAKEN = frozenset({"timestamp", "level", "message", *MAPPED.values(), "source", "file", "host",
                    "line_part", "parse_error"})
_LEVELS = {str(i): name for i, name in enumerate(SEVERITY_LEVELS)}
_MIN_MICROS = 10**14  # below this `parse_time` would read the number as milliseconds


def value_of(value: Any) -> Any:
    """A journal field's JSON value as text: byte arrays decoded, several values a list."""
    if value.__class__ is list:
        if all(v.__class__ is int for v in value):
            try:
                return decode(bytes(value))
            except ValueError:  # not byte values after all
                return value
        return [value_of(v) for v in value]
    return value


def _name(key: str) -> str:
    name = key.lower()
    while name in _TAKEN:
        name += "_field"
    return name


def journal_entry(obj: dict[str, Any], read_ts: str, meta: Entry) -> Entry:
    """The entry of one decoded journal object (see the module doc)."""
    micros = obj.get("__REALTIME_TIMESTAMP")
    ts = None
    if micros.__class__ is str and micros.isdecimal() and int(micros) >= _MIN_MICROS:
        ts = parse_time(int(micros), None)
    entry: Entry = {"timestamp": ts or read_ts}
    priority = obj.get("PRIORITY")
    level = _LEVELS.get(priority) if priority.__class__ is str else None
    if level is not None:
        entry["level"] = level
    message = value_of(obj.get("MESSAGE", ""))
    entry["message"] = "\n".join(map(str, message)) if message.__class__ is list else message
    for key, name in MAPPED.items():
        if key in obj:
            entry[name] = value_of(obj[key])
    pid = entry.get("pid")
    if pid.__class__ is str and pid.isdecimal():
        entry["pid"] = int(pid)
    for key, value in obj.items():
        if key in MAPPED or key in ("MESSAGE", "__REALTIME_TIMESTAMP") or key.startswith("__"):
            continue
        if key == "PRIORITY" and level is not None:
            continue
        entry[_name(key)] = value_of(value)
    entry.update(meta)
    return entry


def build_journald_parser(name: str, host: str) -> Parser:
    """The journald parser of source ``name`` on host ``host``."""

    def parse(lines: list[bytes], file: str, read_time: float) -> tuple[list[Entry], int]:
        read_ts = format_epoch(read_time)
        meta: Entry = {"source": name, "file": FILE, "host": host}
        out: list[Entry] = []
        n_bad = 0
        for line in lines:
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                obj, why = None, f"invalid JSON: {exc}"
            else:
                why = "not a JSON object"
            if obj.__class__ is not dict:
                n_bad += 1
                out.append(bad_entry(read_ts, decode(line), meta, why))
                continue
            out.append(journal_entry(obj, read_ts, meta))
        return out, n_bad

    return parse
