"""``parser = "syslog"``: RFC 5424 and RFC 3164 lines, detected line by line.

    RFC 5424:  <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
    RFC 3164:  [<PRI>]Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG
               [<PRI>]2026-11-24T04:00:01.123456+00:00 HOSTNAME TAG[PID]: MSG
               (the second form is what Debian's rsyslog writes to /var/log/syslog today)

Fields, in this order: ``facility`` (name) and ``level`` (from the severity) when the line
has a PRI, ``hostname``, ``app_name``, ``procid``, ``msgid`` (5424), ``structured_data``
(5424: SD-ID -> {param: value}, escapes undone), ``message``. NILVALUE ``-`` fields are
left out. ``timestamp`` is the line's time in UTC; RFC 3164's time has no zone and no year:
it is read in the source's ``timezone``, in the current year, or the previous one when that
would put it more than a day in the future (a December line read in January). A leading
UTF-8 BOM in a 5424 MSG is dropped. A line that is neither form is a bad line
(``not a syslog line``), kept whole.

Fast path: the header is split on single spaces; the 3164 time is converted once per
distinct second and remembered for the next line (files hold many lines per second).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo
from typing import Any

from logproc.transforms.base import Entry, Parser, bad_entry
from logproc.transforms.timestamps import format_datetime, format_epoch, parse_time

FACILITY_NAMES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
                  "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
                  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")
SEVERITY_LEVELS = ("critical", "critical", "critical", "error", "warning", "notice", "info", "debug")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_WHY = "not a syslog line"


def _pri(text: str) -> tuple[int, int, str] | None:
    """(facility, severity, rest) of a line starting with ``<PRI>``, else None."""
    end = text.find(">", 1, 5)
    if end < 2 or text[0] != "<" or not text[1:end].isdecimal():
        return None
    pri = int(text[1:end])
    if pri > 191:
        return None
    return pri >> 3, pri & 7, text[end + 1:]


def _sd(text: str) -> tuple[dict[str, dict[str, str]], str] | None:
    """Structured data at the start of ``text``: (mapping, the rest after it), or None."""
    out: dict[str, dict[str, str]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        j = i + 1
        while j < n and text[j] not in " ]":
            j += 1
        sd_id, params = text[i + 1:j], {}
        while j < n and text[j] == " ":
            eq = text.find('="', j + 1)
            if eq < 0:
                return None
            name, k, value = text[j + 1:eq], eq + 2, []
            while k < n and text[k] != '"':
                if text[k] == "\\" and k + 1 < n and text[k + 1] in '"\\]':
                    k += 1
                value.append(text[k])
                k += 1
            if k >= n:
                return None
            params[name] = "".join(value)
            j = k + 1
        if j >= n or text[j] != "]" or not sd_id:
            return None
        out[sd_id] = params
        i = j + 1
    if not out:
        return None
    return out, text[i:]


def build_syslog_parser(name: str, host: str, tz: tzinfo | None) -> Parser:
    """The syslog parser of source ``name``; ``tz`` reads RFC 3164 times (None: local)."""
    cache: dict[str, str | None] = {}  # 3164 "Mmm dd hh:mm:ss" -> UTC text, this call only

    def time3164(stamp: str, now: float) -> str | None:
        ts = cache.get(stamp, "")
        if ts != "":
            return ts
        ts = None
        month = _MONTHS.get(stamp[:3])
        try:
            if month is not None and stamp[3] == " " and stamp[6] == " ":
                day, clock = int(stamp[4:6]), stamp[7:]
                hh, mm, ss = int(clock[0:2]), int(clock[3:5]), int(clock[6:8])
                zone = tz or datetime.now().astimezone().tzinfo
                year = time.gmtime(now).tm_year
                when = datetime(year, month, day, hh, mm, ss, tzinfo=zone)
                if when.timestamp() > now + 86400:
                    when = when.replace(year=year - 1)
                ts = format_datetime(when.astimezone(UTC))
        except (ValueError, IndexError, OverflowError):
            ts = None
        if len(cache) > 4096:
            cache.clear()
        cache[stamp] = ts
        return ts

    def parse(lines: list[bytes], file: str, read_time: float) -> tuple[list[Entry], int]:
        read_ts = format_epoch(read_time)
        meta: Entry = {"source": name, "file": file, "host": host}
        out: list[Entry] = []
        n_bad = 0
        cache.clear()
        for line in lines:
            text = line.decode("utf-8", "replace")
            entry = _parse_line(text, tz, read_time, time3164)
            if entry is None:
                n_bad += 1
                out.append(bad_entry(read_ts, text, meta, _WHY))
                continue
            if "timestamp" not in entry:
                entry = {"timestamp": read_ts, **entry}
            entry.update(meta)
            out.append(entry)
        return out, n_bad

    return parse


def _parse_line(text: str, tz: tzinfo | None, now: float, time3164: Any) -> Entry | None:
    head = _pri(text)
    fields: Entry = {}
    rest = text
    if head is not None:
        facility, severity, rest = head
        if rest.startswith("1 "):
            return _rfc5424(facility, severity, rest[2:], tz)
        fields["facility"] = FACILITY_NAMES[facility]
        fields["level"] = SEVERITY_LEVELS[severity]
    return _rfc3164(fields, rest, tz, now, time3164)


def _rfc5424(facility: int, severity: int, rest: str, tz: tzinfo | None) -> Entry | None:
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        return None
    stamp, hostname, app, procid, msgid, tail = parts
    entry: Entry = {}
    if stamp != "-":
        ts = parse_time(stamp, tz)
        if ts is None:
            return None
        entry["timestamp"] = ts
    entry["level"] = SEVERITY_LEVELS[severity]
    fields: Entry = {"facility": FACILITY_NAMES[facility]}
    for key, value in (("hostname", hostname), ("app_name", app), ("procid", procid), ("msgid", msgid)):
        if value != "-":
            fields[key] = value
    if tail.startswith("-"):
        message = tail[2:] if tail.startswith("- ") else tail[1:]
        if tail[1:2] not in ("", " "):
            return None
    else:
        sd = _sd(tail)
        if sd is None:
            return None
        fields["structured_data"], message = sd
        if message and not message.startswith(" "):
            return None
        message = message[1:]
    if message.startswith("\ufeff"):
        message = message[1:]
    entry["message"] = message
    entry.update(fields)
    return _reorder(entry)


def _reorder(entry: Entry) -> Entry:
    """timestamp, level, message first, then the parser's fields."""
    head: Entry = {k: entry.pop(k) for k in ("timestamp", "level", "message") if k in entry}
    head.update(entry)
    return head


def _rfc3164(fields: Entry, rest: str, tz: tzinfo | None, now: float, time3164: Any) -> Entry | None:
    if rest[:1].isdigit():  # RFC 3339 time (rsyslog's high-precision file format)
        stamp, sep, rest = rest.partition(" ")
        ts = parse_time(stamp, tz) if sep else None
    else:
        stamp, rest = rest[:15], rest[16:]
        ts = time3164(stamp, now) if len(stamp) == 15 and rest else None
    if ts is None:
        return None
    hostname, sep, rest = rest.partition(" ")
    if not sep or not hostname:
        return None
    tag, colon, message = rest.partition(": ")
    entry: Entry = {"timestamp": ts}
    if "level" in fields:
        entry["level"] = fields.pop("level")
    if colon and tag and " " not in tag and len(tag) <= 64:
        app, bracket, pid = tag.partition("[")
        entry["message"] = message
        out = {**fields, "hostname": hostname, "app_name": app}
        if bracket and pid.endswith("]"):
            out["procid"] = pid[:-1]
    else:  # no TAG: the rest is the message
        entry["message"] = rest
        out = {**fields, "hostname": hostname}
    entry.update(out)
    return entry

