"""What both syslog protocols share: PRI, header field sanitising, MSG text, truncation, framing.

Contracts:
- PRI = facility * 8 + severity. The facility is a name from `FACILITIES` (its index is its
  code: kern=0 … local7=23) or a number 0 to 23. The severity comes from the entry's
  normalised `level`: critical→2, error→3, warning→4, notice→5, info→6, debug and
  trace→7; an entry with no level, a level that is not a string, or an unknown level
  string is sent as info (6).
- Header fields (HOSTNAME, APP-NAME, PROCID, MSGID, TAG) are printable US-ASCII without
  spaces (33 to 126): any other character becomes `_`, and the text is cut to the field's
  limit; an empty field is the NILVALUE `-`.
- MSG is UTF-8: the entry's `message` by default, else the entry in the sink's `format`
  (json, logfmt and text are one line per entry; raw is the line as read).
- `truncate_utf8` never cuts inside a UTF-8 sequence. `frame_octet` is RFC 6587 octet
  counting (`LEN SP MSG`); `frame_newline` is non-transparent framing (`MSG LF`) with
  every LF inside the message written as the two characters `\\n`, so a message is never
  split by the receiver (a literal backslash-n in a message is then indistinguishable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from logproc.sinks.formats import build_formatter
from logproc.sinks.syslog.config import FACILITIES

if TYPE_CHECKING:
    from logproc.sinks.syslog.config import SyslogSinkConfig

Entry = dict[str, Any]
MessageTexts = Callable[[list[Entry], list[bytes]], list[bytes]]

NILVALUE = "-"
SEVERITY: dict[str, int] = {"critical": 2, "error": 3, "warning": 4, "notice": 5, "info": 6,
                            "debug": 7, "trace": 7}
DEFAULT_SEVERITY = 6
_CACHE_MAX = 4096  # sanitised field values come from the data: keep each cache bounded


def facility_code(facility: str | int) -> int:
    """The numeric facility of a config value (already validated by the schema)."""
    return facility if isinstance(facility, int) else FACILITIES.index(facility)


def severity(level: Any) -> int:
    """The syslog severity of an entry's `level` (see the module contract)."""
    if level.__class__ is not str:  # None, numbers kept as written, lists: never a dict key
        return DEFAULT_SEVERITY
    return SEVERITY.get(level, DEFAULT_SEVERITY)


_ASCII_FIELD = str.maketrans(dict.fromkeys([*range(33), 127], "_"))


def ascii_field(value: Any, limit: int, cache: dict[Any, str]) -> str:
    """`value` as a header field: printable US-ASCII, no spaces, at most `limit` chars."""
    got = cache.get(value) if value.__class__ is str else None
    if got is not None:
        return got
    text = value if value.__class__ is str else ("" if value is None else str(value))
    safe = text.translate(_ASCII_FIELD)
    if not safe.isascii():
        safe = "".join(c if c.isascii() else "_" for c in safe)
    safe = safe[:limit] or NILVALUE
    if text is value:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[value] = safe
    return safe


def truncate_utf8(data: bytes, limit: int) -> bytes:
    """The longest prefix of `data` of at most `limit` bytes that ends on a character
    boundary (continuation bytes are 10xxxxxx)."""
    if len(data) <= limit:
        return data
    cut = max(0, limit)
    while cut > 0 and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return data[:cut]


def frame_octet(message: bytes) -> bytes:
    return b"%d %b" % (len(message), message)


def frame_newline(message: bytes) -> bytes:
    if b"\n" in message:
        message = message.replace(b"\n", b"\\n")
    return message + b"\n"


def _text(value: Any) -> str:
    return value if value.__class__ is str else ("" if value is None else str(value))


def build_message_texts(cfg: SyslogSinkConfig) -> MessageTexts:
    """`texts(entries, raws) -> [MSG bytes]`, one per entry, for the sink's `format`.

    `raw` takes `raws[i]` when `raws` is aligned with `entries` (same length); when a sink
    filter dropped entries the consumer still passes every raw line, so alignment is
    lost and MSG falls back to the entry's `message` (documented limitation).
    """
    if cfg.format is None:
        def messages(entries: list[Entry], raws: list[bytes]) -> list[bytes]:
            return [_text(e.get("message")).encode("utf-8", "replace") for e in entries]
        return messages
    if cfg.format == "raw":
        def raw_lines(entries: list[Entry], raws: list[bytes]) -> list[bytes]:
            if len(raws) == len(entries):
                return list(raws)
            return [_text(e.get("message")).encode("utf-8", "replace") for e in entries]
        return raw_lines
    formatter = build_formatter(cfg)

    def formatted(entries: list[Entry], raws: list[bytes]) -> list[bytes]:
        # json, logfmt and text write exactly one line per entry (newlines escaped), so one
        # call for the batch and a split is exact; rejected: one formatter call per entry,
        # which repeats the per-call set-up for every entry.
        lines = formatter(entries, raws).split(b"\n")
        lines.pop()  # the text after the last newline: empty
        if len(lines) != len(entries):  # defensive: never mismatch MSG and severity
            return [formatter([e], raws).rstrip(b"\n") for e in entries]
        return lines
    return formatted
