"""The consumers' half of the `nats` sink: a batch of entries to messages framed as
ready-to-send NATS protocol, and the sink thread's split of them again.

Each entry becomes one message: its subject (the `subject` template rendered on the
entry), its stable identity (the `Nats-Msg-Id` header; absent when the source gives no
identities) and its body (the entry in `format`, without a trailing newline).

Decision: the formatter, which runs in the consumers (worker processes too), writes each
message as the protocol command the sink thread sends, all but the reply subject, which
only the sink knows (its connection's inbox and a sequence number). A message is two
pieces, the command cut where the reply goes:

    head = b"HPUB <subject>"
    tail = b" <header length> <total length>\r\nNATS/1.0\r\nNats-Msg-Id: <id>\r\n\r\n<body>\r\n"

(`PUB <subject>` and ` <body length>\r\n<body>\r\n` without an id). The sink sends
`head + b" " + reply + tail` (JetStream) or `head + tail` (core NATS): no per-message
work of a client library in the sink thread. A payload is blocks of

    count (u32) · the end offsets of head 0, tail 0, head 1, tail 1, … (2·count u32) · pieces

in the machine's byte order (the consumers and the sink run on one host); the pipeline
joins the payloads of a batch's pieces, so the sink reads block after block. Rejected:
one message per Delivery (a delivery is a batch, and the sink must acknowledge it whole),
and text framing (a raw line may hold any byte).

Subjects: a field's value fills exactly one token, so `logs.{host}` always matches
`logs.*`: dots, blanks, control characters and the wildcards `*` `>` become `_`, an empty
or missing value is `_`, and a value is cut at `TOKEN_MAX` characters. An id's CR and LF
(a header line cannot hold them) become `_`, the same way every time, so a message sent
again keeps its id. The formatter depends on the config's plain values only.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from logproc.sinks.formats import Formatter, build_formatter, compile_template

COUNT_SIZE = 4  # the u32 message count opening a payload
HEADERS_SIZE = len(b"NATS/1.0\r\nNats-Msg-Id: \r\n\r\n")  # and the id
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
    constant = None if names_fields(cfg.subject) else render(None)
    bodies = _bodies(cfg.format, build_formatter(cfg))

    def format_nats(entries: list[dict[str, Any]] | None, raws: list[bytes],
                    ids: list[Any] | None) -> bytes:
        out = bodies(entries, raws)
        if not out:
            return b""
        subjects = ([render(e) for e in entries] if constant is None and entries
                    else [constant or render(None)] * len(out))
        mids = _ids(ids)
        if mids is not None and all(mids):  # the usual case: every message has its id
            heads = [b"HPUB " + subject for subject in subjects]
            tails = [_WITH_ID % (HEADERS_SIZE + len(mid), HEADERS_SIZE + len(mid) + len(body), mid, body)
                     for mid, body in zip(mids, out, strict=True)]
        else:
            heads, tails = [], []
            for i, body in enumerate(out):
                mid = mids[i] if mids is not None else b""
                heads.append((b"HPUB " if mid else b"PUB ") + subjects[i])
                tails.append(_WITH_ID % (HEADERS_SIZE + len(mid), HEADERS_SIZE + len(mid) + len(body),
                                         mid, body) if mid else b" %d\r\n%s\r\n" % (len(body), body))
        pieces: list[bytes] = [b""] * (2 * len(out))
        pieces[0::2], pieces[1::2] = heads, tails
        ends = array("I", accumulate(map(len, pieces)))
        return b"".join([len(out).to_bytes(COUNT_SIZE, sys.byteorder), ends.tobytes(), *pieces])

    return format_nats


_WITH_ID = b" %d %d\r\nNATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n%s\r\n"


def _ids(ids: list[Any] | None) -> list[bytes] | None:
    """Each message's id as bytes, b"" for none; CR and LF (a header line cannot hold them)
    written `_`."""
    if ids is None:
        return None
    try:
        text = "".join(ids)  # the usual case: str ids only, checked at once
    except TypeError:
        return [_id_bytes(value) for value in ids]
    if "\r" in text or "\n" in text:
        return [_id_bytes(value) for value in ids]
    return [value.encode() for value in ids]


def _id_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    mid = value if isinstance(value, bytes) else str(value).encode()
    return mid.replace(b"\r", b"_").replace(b"\n", b"_")


def split(payload: bytes) -> tuple[list[bytes], list[bytes]]:
    """The heads and the tails of a payload's messages, in order, block after block."""
    heads: list[bytes] = []
    tails: list[bytes] = []
    pos, size = 0, len(payload)
    while pos < size:
        count = int.from_bytes(payload[pos:pos + COUNT_SIZE], sys.byteorder)
        ends = array("I")
        start = pos + COUNT_SIZE + 2 * count * ends.itemsize
        ends.frombytes(payload[pos + COUNT_SIZE:start])
        if not count:
            pos = start
            continue
        data = payload[start:start + ends[-1]]
        head_ends, tail_ends = ends[0::2], ends[1::2]
        heads += [data[a:b] for a, b in zip([0, *tail_ends[:-1]], head_ends, strict=True)]
        tails += [data[a:b] for a, b in zip(head_ends, tail_ends, strict=True)]
        pos = start + ends[-1]
    return heads, tails


def subject_of(head: bytes) -> str:
    """The subject of a message (for messages to people)."""
    return head.partition(b" ")[2].decode(errors="replace")


def body_of(tail: bytes) -> bytes:
    """The body of a message (for the dead-letter file)."""
    line, _, rest = tail.partition(b"\r\n")
    sizes = line.split()
    return rest[int(sizes[0]):int(sizes[1])] if len(sizes) == 2 else rest[:int(sizes[0])]


def size_of(tail: bytes) -> int:
    """Headers and body together: what the server's max_payload bounds."""
    return int(tail[:tail.index(b"\r\n")].split()[-1])
