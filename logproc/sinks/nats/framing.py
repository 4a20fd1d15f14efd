"""The consumers' half of the `nats` sink: a batch of entries to framed messages, and the
sink thread's split of them again.

Each entry becomes one message: its subject (the `subject` template rendered on the
entry), its stable identity (the `Nats-Msg-Id` header; absent when the source gives no
identities) and its body (the entry in `format`, without a trailing newline). A payload
is the messages in entry order, each framed as

    subject length (u16) · id length (u16) · body length (u32) · subject · id · body

(big-endian). Rejected: one message per Delivery (a delivery is a batch, and the sink
must acknowledge it whole), and text framing (a raw line may hold any byte).

Subjects: a field's value fills exactly one token, so `logs.{host}` always matches
`logs.*`: dots, blanks, control characters and the wildcards `*` `>` become `_`, an empty
or missing value is `_`, and a value is cut at `TOKEN_MAX` characters. The formatter
depends on the config's plain values only (it runs in worker processes too).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from typing import Any

from logproc.sinks.formats import Formatter, build_formatter, compile_template

HEAD = struct.Struct(">HHI")
TOKEN_MAX = 128  # characters of one field value in a subject
_UNSAFE = re.compile(r"[\s.*>\x00-\x1f\x7f]")
_tokens: dict[str, str] = {}  # value -> token; values repeat (source, host, level)

#: formatter(entries, raws, ids) -> framed payload
IdFormatter = Callable[[list[dict[str, Any]] | None, list[bytes], list[Any] | None], bytes]


def names_fields(template: str) -> bool:
    """Whether a subject template reads entry fields (then entries must be parsed)."""
    return any(field is not None for _, field in compile_template(template))


def _token(value: Any) -> str:
    text = value if value.__class__ is str else ("" if value is None else str(value))
    token = _tokens.get(text)
    if token is None:
        if len(_tokens) > 10000:  # values come from the data: keep the cache bounded
            _tokens.clear()
        token = _tokens[text] = _UNSAFE.sub("_", text[:TOKEN_MAX]) or "_"
    return token


def subject_renderer(template: str) -> Callable[[dict[str, Any] | None], bytes]:
    """`render(entry) -> subject bytes` for a template checked by the config."""
    parts = compile_template(template)
    if not names_fields(template):
        constant = "".join(literal for literal, _ in parts).encode()
        return lambda _entry: constant

    def render(entry: dict[str, Any] | None) -> bytes:
        get = (entry or {}).get
        return "".join(literal + ("" if field is None else _token(get(field)))
                       for literal, field in parts).encode()

    return render


def _bodies(fmt: str, line_formatter: Formatter) -> Callable[[list[dict[str, Any]] | None, list[bytes]],
                                                             list[bytes]]:
    """Each entry's body. json, logfmt and text write one line per entry with no newline
    inside (they escape them), so the batch is formatted at once and split; raw lines may
    hold anything and are taken as read."""
    if fmt == "raw":
        return lambda _entries, raws: raws

    def bodies(entries: list[dict[str, Any]] | None, raws: list[bytes]) -> list[bytes]:
        if not entries:
            return []
        out = line_formatter(entries, raws).split(b"\n")
        out.pop()  # after the last newline
        if len(out) != len(entries):  # not expected; one entry at a time is always right
            return [line_formatter([e], raws).rstrip(b"\n") for e in entries]
        return out

    return bodies


def build_nats_formatter(cfg: Any) -> IdFormatter:
    """The formatter of a nats sink (reads `subject`, `format` and `template`)."""
    render = subject_renderer(cfg.subject)
    bodies = _bodies(cfg.format, build_formatter(cfg))
    pack = HEAD.pack

    def format_nats(entries: list[dict[str, Any]] | None, raws: list[bytes],
                    ids: list[Any] | None) -> bytes:
        out: list[bytes] = []
        for i, body in enumerate(bodies(entries, raws)):
            subject = render(entries[i] if entries else None)
            mid = b"" if ids is None else _id_bytes(ids[i])
            out += (pack(len(subject), len(mid), len(body)), subject, mid, body)
        return b"".join(out)

    return format_nats


def _id_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()


def split(payload: bytes) -> Iterator[tuple[str, str, bytes]]:
    """(subject, id or "", body) of each message of a payload, in order."""
    unpack = HEAD.unpack_from
    size, pos, end = HEAD.size, 0, len(payload)
    while pos < end:
        ns, ni, nb = unpack(payload, pos)
        pos += size
        subject = payload[pos:pos + ns].decode()
        pos += ns
        mid = payload[pos:pos + ni].decode() if ni else ""
        pos += ni
        yield subject, mid, payload[pos:pos + nb]
        pos += nb
