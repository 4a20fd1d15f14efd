"""RFC 3164 (BSD) headers: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG:`.

Contracts:
- The time is the entry's `timestamp` in **UTC** (the pipeline's zone), to the second, the
  day padded with a space (`Jan  2`). RFC 3164 carries no zone, and a receiver reads it
  in its own zone: rejected converting to local time, because the sender's zone is no
  better a guess than UTC, UTC is what every entry already holds, and the output stays
  the same on every machine. Receivers that care about time should get `rfc5424`.
  An entry whose `timestamp` is not in the pipeline's form gets the current time.
- HOSTNAME as in RFC 5424 (`hostname`, else `host`), printable ASCII, no spaces.
- TAG is the sink's `app_name`, at most 32 characters; besides spaces and control
  characters, `:`, `[` and `]` (which end a TAG for receivers) become `_`.
- The caller appends ` MSG` (RFC 3164 has no structured data and no PROCID field).
"""

from __future__ import annotations

import time
from typing import Any

from logproc.sinks.syslog.message import ascii_field

TAG_MAX = 32
HOSTNAME_MAX = 255
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TAG_BAD = str.maketrans({":": "_", "[": "_", "]": "_"})


def bsd_time(timestamp: Any) -> str:
    """`Mmm dd hh:mm:ss` of an RFC 3339 UTC `timestamp`, or of now when it is not one."""
    if timestamp.__class__ is str and len(timestamp) >= 19 and timestamp[10] == "T":
        month, day, clock = timestamp[5:7], timestamp[8:10], timestamp[11:19]
        if month.isdigit() and 1 <= int(month) <= 12 and day.isdigit() and clock[2] == ":":
            return f"{MONTHS[int(month) - 1]} {int(day):2d} {clock}"
    now = time.gmtime()
    return f"{MONTHS[now.tm_mon - 1]} {now.tm_mday:2d} {now.tm_hour:02d}:{now.tm_min:02d}:{now.tm_sec:02d}"


class Rfc3164:
    """Builds the header of one entry; shared by consumer threads (see `Rfc5424`)."""

    def __init__(self, app_name: str) -> None:
        self.tag = ascii_field(app_name.translate(_TAG_BAD), TAG_MAX, {})
        self._hosts: dict[Any, str] = {}

    def header(self, entry: dict[str, Any], pri: int, without_sd: bool = False) -> bytes:
        """`<PRI>TIMESTAMP HOSTNAME TAG:`; `without_sd` is accepted for symmetry with RFC 5424."""
        get = entry.get
        host = ascii_field(get("hostname") or get("host"), HOSTNAME_MAX, self._hosts)
        return f"<{pri}>{bsd_time(get('timestamp'))} {host} {self.tag}:".encode("ascii")
