"""RFC 5424 headers: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD`.

Contracts:
- TIMESTAMP is the entry's `timestamp` as the pipeline writes it (RFC 3339 UTC, `Z`, at
  most 6 fraction digits, which RFC 5424 allows); anything else (a transform replaced it)
  is the NILVALUE `-`, never an invalid header.
- HOSTNAME is the entry's `hostname` (the host the line names, e.g. from the syslog
  parser), else `host` (this machine): a relay keeps the origin. ≤255 chars.
- APP-NAME is the sink's `app_name` (≤48); PROCID the entry's `procid` (≤128) and MSGID
  its `msgid` (≤32) when present, else `-`. All printable US-ASCII, no spaces.
- STRUCTURED-DATA is one element `[logproc@32473 source="…" file="…"]` (32473 is the
  example enterprise number of RFC 5612) with `"`, `\\` and `]` escaped by a backslash in
  the values (RFC 5424 §6.3.3); `-` when the entry has neither field, and `without_sd`
  gives `-` for callers that must shrink the header (a huge path over UDP).
"""

from __future__ import annotations

import re
from typing import Any

from logproc.sinks.syslog.message import NILVALUE, ascii_field

SD_ID = "logproc@32473"
HOSTNAME_MAX, APP_NAME_MAX, PROCID_MAX, MSGID_MAX = 255, 48, 128, 32
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")
_SD_ESCAPES = str.maketrans({'"': '\\"', "\\": "\\\\", "]": "\\]"})


def sd_escape(value: str) -> str:
    """A PARAM-VALUE's text with `"`, `\\` and `]` escaped."""
    return value.translate(_SD_ESCAPES)


class Rfc5424:
    """Builds the header of one entry; shared by consumer threads (caches are plain dicts:
    single operations are atomic, and a lost update only costs a recomputation)."""

    def __init__(self, app_name: str) -> None:
        self.app_name = ascii_field(app_name, APP_NAME_MAX, {})
        self._hosts: dict[Any, str] = {}
        self._procids: dict[Any, str] = {}
        self._msgids: dict[Any, str] = {}
        self._sd: dict[tuple[Any, Any], str] = {}

    def structured_data(self, source: Any, file: Any) -> str:
        key = (source, file)
        sd = self._sd.get(key)
        if sd is None:
            params = [f'{name}="{sd_escape(str(value))}"'
                      for name, value in (("source", source), ("file", file)) if value is not None]
            sd = f"[{SD_ID} {' '.join(params)}]" if params else NILVALUE
            if len(self._sd) > 1024:
                self._sd.clear()
            self._sd[key] = sd
        return sd

    def header(self, entry: dict[str, Any], pri: int, without_sd: bool = False) -> bytes:
        get = entry.get
        ts = get("timestamp")
        if ts.__class__ is not str or not _TIMESTAMP.fullmatch(ts):
            ts = NILVALUE
        host = ascii_field(get("hostname") or get("host"), HOSTNAME_MAX, self._hosts)
        procid = get("procid")
        procid = NILVALUE if procid is None else ascii_field(procid, PROCID_MAX, self._procids)
        msgid = get("msgid")
        msgid = NILVALUE if msgid is None else ascii_field(msgid, MSGID_MAX, self._msgids)
        sd = NILVALUE if without_sd else self.structured_data(get("source"), get("file"))
        return f"<{pri}>1 {ts} {host} {self.app_name} {procid} {msgid} {sd}".encode("utf-8", "replace")
