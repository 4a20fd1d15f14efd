"""``parser = "combined" | "common"``: nginx / Apache access logs.

    common:   $remote_addr $ident $remote_user [$time_local] "$request" $status $bytes
    combined: common + ` "$http_referer" "$http_user_agent"`

Fields, in this order: ``remote_addr``, ``remote_user`` (``-`` kept as written), ``method``,
``path``, ``protocol``, ``status`` (int), ``bytes`` (int, 0 for ``-``), and for combined
``referer`` and ``agent`` (kept as written: ``-`` stays, ``\\"`` escapes are not undone). The
ident field is dropped. A request line that is not ``METHOD PATH PROTOCOL`` (``-``, garbage
from TLS probes) gives a ``request`` field instead of the three. ``timestamp`` is the request
time in UTC (an unreadable one goes to ``timestamp_raw``), ``message`` the whole line.

Text after the last expected field (custom formats that append fields) is allowed and only
kept in ``message``; a ``common`` parser also reads combined lines. Anything else is a bad
line (``not a <format> access log line``).

Fast path: one ``str.split('"')`` and tuple unpacking (a shape mismatch raises ValueError and
falls to a regex), and the time converted by hand and remembered for the next line (busy
servers write many lines per second).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from logproc.transforms.base import Entry, Parser, bad_entry
from logproc.transforms.timestamps import format_datetime, format_epoch

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

# The slow path: escaped quotes, odd spacing, trailing fields. Values are kept as written.
_LINE = re.compile(
    r'(\S+) \S+ (\S+) \[([^\]]*)\] "((?:[^"\\]|\\.)*)" ([0-9]{3}) ([0-9]+|-)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?'
).match


def clf_time(text: str) -> str | None:
    """``10/Oct/2000:13:55:36 -0700`` as RFC 3339 UTC text, or None."""
    if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":" or text[20] != " ":
        return None
    month = _MONTHS.get(text[3:6])
    sign = text[21]
    if month is None or sign not in {"+", "-"}:
        return None
    try:
        offset = timedelta(hours=int(text[22:24]), minutes=int(text[24:26]))
        when = datetime(int(text[7:11]), month, int(text[0:2]), int(text[12:14]), int(text[15:17]),
                        int(text[18:20]), tzinfo=timezone(-offset if sign == "-" else offset))
        return format_datetime(when.astimezone(UTC))
    except (ValueError, OverflowError):
        return None


def _request_fields(request: str) -> dict[str, Any]:
    parts = request.split(" ")
    if len(parts) == 3:
        return {"method": parts[0], "path": parts[1], "protocol": parts[2]}
    if len(parts) > 3 and parts[-1].startswith("HTTP/"):  # an unescaped blank in the path
        return {"method": parts[0], "path": " ".join(parts[1:-1]), "protocol": parts[-1]}
    return {"request": request}


def _slow_fields(text: str, combined: bool) -> tuple[str, dict[str, Any]] | None:
    """(request time text, fields) from the regex, or None when the line is not this format."""
    match = _LINE(text)
    if match is None or (combined and match.group(7) is None):
        return None
    addr, user, when, request, status, size, referer, agent = match.groups()
    fields: dict[str, Any] = {"remote_addr": addr, "remote_user": user}
    fields.update(_request_fields(request))
    fields["status"] = int(status)
    fields["bytes"] = 0 if size == "-" else int(size)
    if combined:
        fields["referer"] = referer
        fields["agent"] = agent
    return when, fields


def _entry(ts: str | None, when: str, text: str, fields: dict[str, Any], meta: Entry,
           read_ts: str) -> Entry:
    """An entry from parsed fields; an unreadable time is kept in ``timestamp_raw``."""
    if ts is None:
        return {"timestamp": read_ts, "message": text, "timestamp_raw": when, **fields, **meta}
    return {"timestamp": ts, "message": text, **fields, **meta}


def build_access_parser(name: str, host: str, combined: bool) -> Parser:
    """The ``combined`` (True) or ``common`` access-log parser of source ``name``."""
    why = f"not a {'combined' if combined else 'common'} access log line"

    def parse(lines: list[bytes], file: str, read_time: float) -> tuple[list[Entry], int]:
        read_ts = format_epoch(read_time)
        meta: Entry = {"source": name, "file": file, "host": host}
        out: list[Entry] = []
        append = out.append
        last_when, ts = "", None  # per call: no state shared between consumer threads
        n_bad = 0
        for line in lines:
            text = line.decode("utf-8", "replace")
            try:
                if combined:
                    prefix, request, mid, referer, sep, agent, tail = text.split('"')
                    if sep != " " or tail:
                        raise ValueError
                else:
                    prefix, request, mid = text.split('"')
                addr, _ident, user, when = prefix.split(" ", 3)
                status, size = mid.split()
                method, path, protocol = request.split(" ")
                if when[:1] != "[" or when[-2:] != "] ":
                    raise ValueError
                code = int(status)
                nbytes = 0 if size == "-" else int(size)
            except ValueError:
                slow = _slow_fields(text, combined)
                if slow is None:
                    n_bad += 1
                    append(bad_entry(read_ts, text, meta, why))
                    continue
                when, fields = slow
                if when != last_when:
                    last_when, ts = when, clf_time(when)
                append(_entry(ts, when, text, fields, meta, read_ts))
                continue
            when = when[1:-2]
            if when != last_when:
                last_when, ts = when, clf_time(when)
            if ts is None:
                fields = {"remote_addr": addr, "remote_user": user, "method": method, "path": path,
                          "protocol": protocol, "status": code, "bytes": nbytes}
                if combined:
                    fields["referer"] = referer
                    fields["agent"] = agent
                append(_entry(ts, when, text, fields, meta, read_ts))
            elif combined:  # one dict display per line: the entry in its final order
                append({"timestamp": ts, "message": text, "remote_addr": addr, "remote_user": user,
                        "method": method, "path": path, "protocol": protocol, "status": code,
                        "bytes": nbytes, "referer": referer, "agent": agent, "source": name,
                        "file": file, "host": host})
            else:
                append({"timestamp": ts, "message": text, "remote_addr": addr, "remote_user": user,
                        "method": method, "path": path, "protocol": protocol, "status": code,
                        "bytes": nbytes, "source": name, "file": file, "host": host})
        return out, n_bad

    return parse
