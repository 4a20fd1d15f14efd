"""Entry timestamps as epoch numbers, fast: Loki wants nanoseconds, Elasticsearch indices
want the UTC date.

Entries carry RFC 3339 UTC text (`2026-11-24T04:00:00.123456Z`, see
`logproc.transforms.timestamps`). `epoch_ns` reads the first 19 characters through a small
cache (consecutive entries share their second, so almost every call is one dict look-up
and a slice), then the fraction and the zone by hand. Anything else RFC 3339 allows (an
offset, a space for `T`, a missing zone read as UTC) goes through `datetime.fromisoformat`.
Not a time at all: None — callers choose the fallback.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

_seconds: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" -> epoch seconds; shared by threads
_CACHE_MAX = 4096


def _head_seconds(head: str) -> int | None:
    sec = _seconds.get(head)
    if sec is None:
        if len(head) != 19 or head[4] != "-" or head[10] not in "Tt":
            return None
        try:
            sec = calendar.timegm((int(head[0:4]), int(head[5:7]), int(head[8:10]),
                                   int(head[11:13]), int(head[14:16]), int(head[17:19]), 0, 0, 0))
        except ValueError:
            return None
        if len(_seconds) >= _CACHE_MAX:  # keys come from the data: keep the cache bounded
            _seconds.clear()
        _seconds[head] = sec
    return sec


def epoch_ns(value: Any) -> int | None:
    """`value` (RFC 3339 text) as integer nanoseconds since the epoch, or None."""
    if value.__class__ is not str:
        return None
    sec = _seconds.get(value[:19]) or _head_seconds(value[:19])
    if sec is not None:
        # the canonical shapes: ...SSZ, ...SS.mmmZ, ...SS.uuuuuuZ (20, 24 and 27 characters)
        n = len(value)
        if value[n - 1] == "Z":
            if n == 20:
                return sec * 1_000_000_000
            if value[19] == "." and n in {24, 27}:
                digits = value[20:n - 1]
                if digits.isdigit() and digits.isascii():
                    return sec * 1_000_000_000 + int(digits) * (1000 if n == 27 else 1_000_000)
    return _slow_ns(value)


def _slow_ns(value: str) -> int | None:
    try:
        dt = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # fromisoformat keeps microseconds only: the digits past them are read here, so
    # nanosecond times written with an offset keep their precision too
    ns = calendar.timegm(dt.utctimetuple()) * 1_000_000_000 + dt.microsecond * 1000
    dot = value.find(".", 19)
    if dot > 0:
        end = dot + 1
        while end < len(value) and value[end].isdigit():
            end += 1
        frac = value[dot + 1:end]
        if len(frac) > 6:
            ns += int((frac + "000")[6:9])
    return ns
