"""``parser = "syslog"``: RFC 5424 and RFC 3164 lines, detected line by line.

    RFC 5424:  <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
    RFC 3164:  [<PRI>]Mmm dd hh:mm:ss [HOSTNAME] TAG[PID]: MSG
               [<PRI>]2026-11-24T04:00:01.123456+00:00 [HOSTNAME] TAG[PID]: MSG
               (the second form is what Debian's rsyslog writes to /var/log/syslog today)

Fields, in this order: ``facility`` (name) and ``level`` (from the severity) when the line
has a PRI, ``hostname``, ``app_name``, ``procid``, ``msgid`` (5424), ``structured_data``
(5424: SD-ID -> {param: value}, escapes undone; blanks between a param's ``=`` and its
opening quote are allowed, any other malformed param makes a bad line), ``message``.
NILVALUE ``-`` fields are left out.

RFC 3164: a first word after the time that ends with ``:`` (``haproxy[73411]:``, ``su:``)
is the TAG of a line without HOSTNAME, which then has no ``hostname`` (as a NILVALUE);
any other first word is the hostname, and the TAG follows it. A TAG is ``app`` or
``app[pid]`` (``app_name``, ``procid``), up to 64 characters, followed by ``: ``. When no
TAG follows the hostname, the rest is the message (``-- MARK --``).

``timestamp`` is the line's time in UTC; RFC 3164's time has no zone and no year: it is
read in the source's ``timezone``, in the current year, or the previous one when that would
put it more than a day in the future (a December line read in January). A leading
UTF-8 BOM in a 5424 MSG is dropped. A line that is neither form is a bad line
(``not a syslog line``), kept whole.

Fast path: the header is split on single spaces; the 3164 time is converted once per
distinct second and remembered for the next line (files hold many lines per second).
"""

from __future__ import annotations

import re
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

# One SD-PARAM from the blank before it to its opening quote: PARAM-NAME is an SD-NAME (no
# blank, "=", "]" or '"'; never empty), so a malformed parameter is a bad line, never a name
# made of the text around it. Blanks between "=" and the quote are allowed: the RFC has none
# there, but senders write `eventSource= "Application"` and Vector's syslog parser
# (syslog_loose: `terminated(tag("="), space0)`, its `parse_structured_data_with_space` test,
# the `parse_syslog` documentation example) reads it as eventSource = Application. That
# reading loses nothing and invents nothing, where refusing it would demote the whole entry
# to a parse_error; nothing else is relaxed.
_PARAM = re.compile(r' ([^ ="\]]+)=[ \t]*"').match


def _pri(text: str) -> tuple[int, int, str] | None:
    """(facility, severity, rest) of a line starting with ``<PRI>``, else None."""
    end = text.find(">", 1, 5)
    if end < 2 or text[0] != "<" or not text[1:end].isdecimal():
        return None
    pri = int(text[1:end])
    if pri > 191:
        return None
    return pri >> 3, pri & 7, text[end + 1:]


# Fast path of `_sd`: one SD-ELEMENT whose values hold no backslash (nearly all of them),
# read by two regexes instead of a loop per character; anything else takes `_sd_slow`,
# which gives the same result for what the fast path reads.
_ELEMENT = re.compile(r'\[([^ ="\]]+)((?: [^ ="\]]+=[ \t]*"[^"\\]*")*)\]').match
_PARAMS = re.compile(r' ([^ ="\]]+)=[ \t]*"([^"\\]*)"').findall


def _sd(text: str) -> tuple[dict[str, dict[str, str]], str] | None:
    """Structured data at the start of ``text``: (mapping, the rest after it), or None."""
    out: dict[str, dict[str, str]] = {}
    i = 0
    while text.startswith("[", i):
        m = _ELEMENT(text, i)
        if m is None:
            return _sd_slow(text)
        out[m.group(1)] = dict(_PARAMS(m.group(2)))
        i = m.end()
    if not out:
        return None
    return out, text[i:]


def _sd_slow(text: str) -> tuple[dict[str, dict[str, str]], str] | None:
    out: dict[str, dict[str, str]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        j = i + 1
        while j < n and text[j] not in " ]":
            j += 1
        sd_id, params = text[i + 1:j], {}
        while j < n and text[j] == " ":
            param = _PARAM(text, j)
            if param is None:
                return None
            k = param.end()
            end = text.find('"', k)
            if end < 0:
                return None
            if text.find("\\", k, end) < 0:  # no escape: the first quote closes the value
                value = text[k:end]
            else:
                value, end = _escaped_value(text, k)
                if end < 0:
                    return None
            params[param.group(1)] = value
            j = end + 1
        if j >= n or text[j] != "]" or not sd_id:
            return None
        out[sd_id] = params
        i = j + 1
    if not out:
        return None
    return out, text[i:]


def _escaped_value(text: str, k: int) -> tuple[str, int]:
    """The PARAM-VALUE from ``k`` with ``\\"``, ``\\\\``, ``\\]`` undone (other backslashes
    kept), and the index of its closing quote (-1: none)."""
    n, value = len(text), []
    while k < n and text[k] != '"':
        if text[k] == "\\" and k + 1 < n and text[k + 1] in '"\\]':
            k += 1
        value.append(text[k])
        k += 1
    return "".join(value), (k if k < n else -1)


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
    # the entry is built in its final key order: no reordering dict per line
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        return None
    stamp, hostname, app, procid, msgid, tail = parts
    sd: dict[str, dict[str, str]] | None = None
    if tail[:1] == "-":
        if tail[1:2] not in ("", " "):
            return None
        message = tail[2:]
    else:
        got = _sd(tail)
        if got is None:
            return None
        sd, message = got
        if message:
            if message[0] != " ":
                return None
            message = message[1:]
    if message[:1] == "\ufeff":
        message = message[1:]
    entry: Entry = {}
    if stamp != "-":
        ts = parse_time(stamp, tz)
        if ts is None:
            return None
        entry["timestamp"] = ts
    entry["level"] = SEVERITY_LEVELS[severity]
    entry["message"] = message
    entry["facility"] = FACILITY_NAMES[facility]
    if hostname != "-":
        entry["hostname"] = hostname
    if app != "-":
        entry["app_name"] = app
    if procid != "-":
        entry["procid"] = procid
    if msgid != "-":
        entry["msgid"] = msgid
    if sd is not None:
        entry["structured_data"] = sd
    return entry


def _rfc3164(fields: Entry, rest: str, tz: tzinfo | None, now: float, time3164: Any) -> Entry | None:
    if rest[:1].isdigit():  # RFC 3339 time (rsyslog's high-precision file format)
        stamp, sep, rest = rest.partition(" ")
        ts = parse_time(stamp, tz) if sep else None
    else:
        stamp, rest = rest[:15], rest[16:]
        ts = time3164(stamp, now) if len(stamp) == 15 and rest else None
    if ts is None:
        return None
    entry: Entry = {"timestamp": ts}
    if "level" in fields:
        entry["level"] = fields.pop("level")
    first, sep, rest = rest.partition(" ")
    hostname: str | None = first
    if first[-1:] == ":" and 1 < len(first) <= 65:
        # `TAG:` or `TAG[PID]:` right after the time: the line has no HOSTNAME (haproxy and
        # other programs writing to a local socket; files written from such lines). A
        # hostname does not end with a colon (rsyslog, likewise, takes a first word holding a
        # character no hostname has for the TAG); a word without one is still the hostname.
        tag, message, hostname = first[:-1], rest, None
    elif not sep or not first:
        return None
    else:
        tag, colon, message = rest.partition(": ")
        if not colon or not tag or " " in tag or len(tag) > 64:  # no TAG: the rest is the message
            entry["message"] = rest
            entry.update(fields)
            entry["hostname"] = first
            return entry
    entry["message"] = message
    entry.update(fields)
    if hostname is not None:
        entry["hostname"] = hostname
    app, bracket, pid = tag.partition("[")
    entry["app_name"] = app
    if bracket and pid.endswith("]"):
        entry["procid"] = pid[:-1]
    return entry
