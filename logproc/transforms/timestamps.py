"""Timestamps in, RFC 3339 UTC text out.

Output shape (the *canonical* shape): ``YYYY-MM-DDTHH:MM:SSZ`` when the fraction is zero,
``YYYY-MM-DDTHH:MM:SS.mmmZ`` when it is whole milliseconds, else ``.uuuuuu`` (microseconds;
finer digits are truncated by the ISO reader).

Accepted by :func:`parse_time`:

- text already in the canonical shape: returned unchanged, no datetime work (the fast path
  checks the shape and the field ranges, not the calendar: ``02-31`` passes);
- ISO 8601 / RFC 3339 text (``T`` or space, ``Z`` or an offset, ``,`` or ``.`` before the
  fraction, basic or extended form): read by :meth:`datetime.fromisoformat`; a time written
  without a zone is read in the source's zone;
- epoch numbers (int, float or numeric text): seconds; above 1e11 milliseconds, above 1e14
  microseconds, above 1e17 nanoseconds (ints are truncated to the microsecond, floats
  rounded).

Decision: a number below 1e8 seconds (before 1973-03-03) is *not* taken as a time, so a
``"time": 0.53`` duration stays a field instead of becoming 1970. Negative, non-finite and
past-year-9999 values are refused as well. Refusal is ``None``; callers fall back to the
read time.

The zone is resolved once by :func:`resolve_tz`; ``None`` stands for the machine's local
zone, converted per value through the C library so that DST is right.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

#: ``match_canonical(text)`` is not None when ``text`` is already canonical UTC RFC 3339.
match_canonical = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{3}|\.[0-9]{6})?Z"
).fullmatch

_MIN_EPOCH = 1e8  # 1973-03-03: below this a number is a duration or a counter, not a time
_MAX_EPOCH = 253402300800  # 10000-01-01: RFC 3339 years have four digits


def resolve_tz(name: str) -> tzinfo | None:
    """The zone for times written without one: ``None`` for "local", else a tzinfo.

    Raises ``zoneinfo.ZoneInfoNotFoundError`` (a ``KeyError``) for an unknown IANA name.
    """
    if name == "local":
        return None
    if name.upper() == "UTC":
        return UTC
    return ZoneInfo(name)


def parse_time(value: Any, tz: tzinfo | None) -> str | None:
    """``value`` as canonical RFC 3339 UTC text, or None when it is not a time."""
    cls = value.__class__
    if cls is str:
        if match_canonical(value) is not None:
            return value  # type: ignore[no-any-return]
        return _parse_text(value, tz)
    if cls is int or cls is float:  # not bool: True is no time
        return _from_epoch(value)
    return None


def _parse_text(text: str, tz: tzinfo | None) -> str | None:
    text = text.strip()
    if not text:
        return None
    if text[0].isdecimal() and text.replace(".", "", 1).isdecimal():
        return _from_epoch(float(text) if "." in text else int(text))
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:  # RFC 3339 allows lower-case "t" and "z"; fromisoformat does not
            dt = datetime.fromisoformat(text.upper())
        except ValueError:
            return None
    try:
        if dt.tzinfo is None:
            dt = dt.astimezone(UTC) if tz is None else dt.replace(tzinfo=tz).astimezone(UTC)
        else:
            dt = dt.astimezone(UTC)
    except (OverflowError, OSError, ValueError):  # years 1 and 9999 at the edge of a zone
        return None
    return format_datetime(dt)


def _from_epoch(number: float) -> str | None:
    if not number >= _MIN_EPOCH:  # also refuses NaN
        return None
    micros: float
    if number.__class__ is int:  # exact integer arithmetic; nanoseconds are truncated
        if number > 1e17:
            micros = int(number) // 1000
        elif number > 1e14:
            micros = number
        elif number > 1e11:
            micros = number * 1000
        else:
            micros = number * 1_000_000
    elif number > 1e17:
        micros = number / 1000
    elif number > 1e14:
        micros = number
    elif number > 1e11:
        micros = number * 1000
    else:
        micros = number * 1_000_000
    if not micros < _MAX_EPOCH * 1_000_000:  # also refuses infinity
        return None
    return _format_micros(round(micros))


def format_epoch(seconds: float) -> str:
    """Epoch seconds as canonical RFC 3339 UTC text (rounded to the microsecond)."""
    return _format_micros(round(seconds * 1_000_000))


def format_datetime(dt: datetime) -> str:
    """An aware UTC datetime as canonical RFC 3339 text."""
    base = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    return _with_fraction(base, dt.microsecond)


def _with_fraction(base: str, micros: int) -> str:
    if micros == 0:
        return base + "Z"
    if micros % 1000 == 0:
        return f"{base}.{micros // 1000:03d}Z"
    return f"{base}.{micros:06d}Z"


# One-entry cache of the last second formatted: epoch-number logs (pino, zap) write many
# lines per second. Swapped as one tuple, so concurrent consumers never see a torn pair.
_last_second: tuple[int, str] = (-1, "")


def _format_micros(micros: int) -> str:
    global _last_second
    seconds, fraction = divmod(micros, 1_000_000)
    cached = _last_second
    if cached[0] == seconds:
        base = cached[1]
    else:
        days, rest = divmod(seconds, 86400)
        year, month, day = _civil_from_days(days)
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        base = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
        _last_second = (seconds, base)
    return _with_fraction(base, fraction)


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count from 1970-01-01 (H. Hinnant's algorithm)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day
