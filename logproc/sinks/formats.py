"""Output formats: a batch of entries (or raw lines) to the bytes a sink writes.

``build_formatter(sink_cfg)`` returns ``formatter(entries, raws) -> bytes``: one line per
entry, each ending in ``\\n``, UTF-8. ``raw`` reads only ``raws`` (``entries`` may be None);
the others read only ``entries``. An empty batch gives ``b""``.

- ``json``: one object per line (orjson), keys in entry order; values JSON cannot hold are
  written as ``str(value)``; a value orjson refuses outright (an int past 64 bits, nesting
  past 254 levels) makes that one entry go through the standard library instead.
- ``logfmt``: ``key=value`` separated by single spaces. A value containing whitespace, ``"``,
  ``=``, a control character or another non-printable one is quoted, with ``"`` and ``\\``
  escaped and control characters written as JSON escapes (``\\n``, ``\\t``, ``\\u0001``),
  so a record is always one line.
  ``true``/``false`` for bools, empty for None and ``""``, compact JSON for objects and
  arrays. A key's blanks, ``=``, ``"`` and control characters become ``_``.
- ``text``: the ``template`` (default ``{timestamp} {level} [{source}] {message}``), compiled
  once into literal/field parts; a missing field renders empty, values render as in logfmt
  but unquoted. The line is for people and terminals: ``\\n``/``\\r`` inside it are written
  ``\\n``/``\\r`` and every other control character (C0 but tab, DEL, C1: ESC, BEL, BS,
  NUL, CSI …) as ``\\x1b``, so a log line cannot move the cursor, retitle the window or
  clear the screen (``escape_controls``).
- ``raw``: the line exactly as read, whatever the parser.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from logproc.sinks.base import SinkBase as SinkConfig

Entry = dict[str, Any]
Formatter = Callable[[list[Entry] | None, list[bytes]], bytes]

DEFAULT_TEMPLATE = "{timestamp} {level} [{source}] {message}"


def needs_entries(sink_cfg: SinkConfig) -> bool:
    """False when the sink writes ``raw`` lines with no filter: its source may skip parsing."""
    return bool(
        sink_cfg.format != "raw" or sink_cfg.min_level is not None or sink_cfg.include
        or sink_cfg.exclude
    )


def build_formatter(sink_cfg: SinkConfig) -> Formatter:
    """The formatter of a sink (reads ``format`` and ``template``)."""
    fmt = sink_cfg.format
    if fmt == "json":
        return format_json
    if fmt == "logfmt":
        return format_logfmt
    if fmt == "text":
        return build_text(sink_cfg.template or DEFAULT_TEMPLATE)
    if fmt == "raw":
        return format_raw
    raise ValueError(f"unknown format {fmt!r}")


def format_raw(entries: list[Entry] | None, raws: list[bytes]) -> bytes:
    # one join with an empty last item: the final newline without copying the payload again
    return b"\n".join([*raws, b""]) if raws else b""


def format_json(entries: list[Entry] | None, raws: list[bytes]) -> bytes:
    if not entries:
        return b""
    dumps = orjson.dumps
    try:
        out = [dumps(entry, default=str) for entry in entries]
    except orjson.JSONEncodeError:
        out = [_json_line(entry) for entry in entries]
    out.append(b"")
    return b"\n".join(out)


def _json_line(entry: Any) -> bytes:
    try:
        return orjson.dumps(entry, default=str)
    except orjson.JSONEncodeError:
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "replace"
        )


# --- logfmt -------------------------------------------------------------------------------

_BAD_KEY = re.compile(r'[\s"=\x00-\x1f\x7f]')
_keys: dict[str, str] = {}  # key -> safe key; shared by threads (dict ops are atomic)


def value_text(value: Any) -> str:
    """A field value as text (templates, logfmt, Loki labels, OTLP resource attributes):
    true/false, "" for None, compact JSON for containers."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if value.__class__ is dict or value.__class__ is list:
        return _json_line(value).decode("utf-8")
    return str(value)


def _safe_key(key: str) -> str:
    safe = _keys.get(key)
    if safe is None:
        if len(_keys) > 10000:  # keys come from the data: keep the cache bounded
            _keys.clear()
        safe = _keys[key] = _BAD_KEY.sub("_", key) or "_"
    return safe


def format_logfmt(entries: list[Entry] | None, raws: list[bytes]) -> bytes:
    if not entries:
        return b""
    dumps, key_of, text_of = orjson.dumps, _keys.get, value_text
    lines: list[str] = []
    for entry in entries:
        pairs = []
        for key, value in entry.items():
            text = value if value.__class__ is str else text_of(value)
            # isprintable() is False for every control character and every blank but " "
            # (tab, newline, NBSP, U+2028 …): with the three ASCII checks, it decides quoting
            # in C, cheaper than a regex scan.
            if " " in text or '"' in text or "=" in text or not text.isprintable():
                # A JSON string literal is exactly the quoting wanted: \" \\ \n \t \u0001.
                text = dumps(text).decode("utf-8")
            pairs.append(f"{key_of(key) or _safe_key(key)}={text}")
        lines.append(" ".join(pairs))
    lines.append("")
    return "\n".join(lines).encode("utf-8", "replace")


# --- text ---------------------------------------------------------------------------------

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}
_CONTROLS.update({0x0A: "\\n", 0x0D: "\\r"})


def escape_controls(text: str) -> str:
    """`text` with control characters written as escapes (`\\x1b`, `\\n`; tab kept), for
    output meant for a terminal."""
    # isprintable() is False for every control character (and for non-ASCII blanks, which
    # translate leaves alone): the common, clean text costs one C-level scan
    return text if text.isprintable() else text.translate(_CONTROLS)



def compile_template(template: str) -> list[tuple[str, str | None]]:
    """``template`` as (literal, field name or None) parts; ``{{``/``}}`` are literal braces."""
    return [(literal, field) for literal, field, _spec, _conv in string.Formatter().parse(template)]


def build_text(template: str) -> Formatter:
    """The text formatter for ``template`` (field names only, as the config checks)."""
    parts = compile_template(template)

    def format_text(entries: list[Entry] | None, raws: list[bytes]) -> bytes:
        if not entries:
            return b""
        text_of = value_text
        lines: list[str] = []
        for entry in entries:
            get = entry.get
            chunks: list[str] = []
            for literal, field in parts:
                chunks.append(literal)
                if field is not None:
                    value = get(field, "")
                    chunks.append(value if value.__class__ is str else text_of(value))
            line = "".join(chunks)
            if not line.isprintable():  # one entry, one line, nothing a terminal would obey
                line = line.translate(_CONTROLS)
            lines.append(line)
        lines.append("")
        return "\n".join(lines).encode("utf-8", "replace")

    return format_text
