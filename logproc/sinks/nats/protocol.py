"""The NATS client protocol, as much as the `nats` sink speaks: the CONNECT command (with
the URL's user-info or a .creds file's signed nonce) and the frames a server sends.

Frames read (`parse`): `MSG <subject> <sid> [reply] <size>` and `HMSG <subject> <sid>
[reply] <header size> <total size>` with their payloads, and the one-line operations
(`PING`, `PONG`, `+OK`, `-ERR '<text>'`, `INFO {…}`), returned as they are for the
connection to act on. Only complete frames are read; the rest waits for more bytes.

The bulk of what a publishing sink reads is JetStream's plain acknowledgements,
`MSG <inbox>.<n> <sid>  <size>\r\n{"stream":"…", "seq":…}\r\n` (nats-server 2.9 writes both
blanks): one regex (`PLAIN_ACK`)
takes every such frame of a read at once, giving their `n` only, when the frames up to
the last acknowledgement are all of that form (as many matches as CRLF pairs; an
acknowledgement's JSON holds no CRLF). Any other frame among them (a duplicate, an error,
a 503 status, a PING) sends those bytes through the frame-by-frame reader instead.

Authentication (`connect_options`): a `.creds` file (the user's JWT and NKey seed, as
`nsc` writes it) signs the server's nonce with the seed (the `nkeys` package, a
dependency); else `user:password@` in the URL is sent as user and password,
a `token@` alone as the token (user-info percent-decoded). Nothing here logs or returns a
credential: errors name the file, not its content.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from logproc import __version__

DEFAULT_PORT = 4222
#: a message received: (subject, headers or b"", payload)
Msg = tuple[bytes, bytes, bytes]


class ProtocolError(Exception):
    """The server sent something that is not the NATS protocol."""


@dataclass(frozen=True, slots=True)
class Server:
    """One configured server: where, and the credentials its URL carries."""

    scheme: str  # "nats" or "tls"
    host: str
    port: int
    user: str | None
    password: str | None

    @classmethod
    def of(cls, url: str) -> Server:
        parts = urlsplit(url)
        user = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.scheme, parts.hostname or "", parts.port or DEFAULT_PORT, user, password)

    def __str__(self) -> str:  # for messages: never the user-info
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def read_creds(path: str) -> tuple[str, bytes]:
    """The user JWT and the NKey seed of a .creds file; ValueError naming what is missing."""
    lines = [line.strip() for line in Path(path).read_bytes().splitlines()]

    def after(marker: bytes, what: str) -> bytes:
        for i, line in enumerate(lines):
            if marker in line:
                for value in lines[i + 1:]:
                    if value:
                        return value
        raise ValueError(f"the credentials file {path} holds no {what}")

    return after(b"BEGIN NATS USER JWT", "user JWT").decode(), after(b"BEGIN USER NKEY SEED", "NKey seed")


def sign(seed: bytes, nonce: str) -> str:
    """The server's nonce signed with an NKey seed, base64 (as the server expects it)."""
    import nkeys  # type: ignore[import-untyped]  # installed with nats-py[nkeys]

    keys = nkeys.from_seed(bytearray(seed))
    try:
        return base64.b64encode(keys.sign(nonce.encode())).decode()
    finally:
        keys.wipe()


def connect_options(info: dict[str, Any], server: Server, name: str, tls: bool,
                    credentials_file: str | None) -> dict[str, Any]:
    """The CONNECT options: no +OK per command (`verbose`), headers and the 503 status for a
    subject nobody answers (`no_responders`), and the credentials."""
    options: dict[str, Any] = {
        "verbose": False, "pedantic": False, "tls_required": tls, "name": name, "lang": "python3",
        "version": __version__, "protocol": 1, "headers": True, "no_responders": True,
    }
    if credentials_file is not None:
        jwt, seed = read_creds(credentials_file)
        options["jwt"] = jwt
        if info.get("nonce"):
            options["sig"] = sign(seed, str(info["nonce"]))
    elif server.user is not None and server.password is not None:
        options["user"], options["pass"] = server.user, server.password
    elif server.user is not None:
        options["auth_token"] = server.user
    return options


def connect_command(options: dict[str, Any]) -> bytes:
    return b"CONNECT " + orjson.dumps(options) + b"\r\n"


PLAIN_ACK = re.compile(rb'MSG [^ \r\n]*\.(\d+) \d+ +\d+\r\n\{ *"stream": *"[^"\\\r\n]*", *'
                       rb'(?:"domain": *"[^"\\\r\n]*", *)?"seq": *\d+ *\}\r\n')


def parse(data: bytes) -> tuple[list[bytes], list[Msg], list[bytes], int]:
    """The complete frames at the start of `data`: the last tokens of the reply subjects of
    plain acknowledgements (see the module doc), the other messages, the other operations
    (their line without CRLF), and how many bytes they took."""
    cut = data.rfind(b"}\r\n") + 3
    if cut > 2:
        acks = PLAIN_ACK.findall(data, 0, cut)
        if len(acks) * 2 == data.count(b"\r\n", 0, cut):
            msgs, ops, used = parse_frames(data[cut:])
            return acks, msgs, ops, cut + used
    msgs, ops, used = parse_frames(data)
    return [], msgs, ops, used


def parse_frames(data: bytes) -> tuple[list[Msg], list[bytes], int]:
    """The complete frames at the start of `data`, one by one: the messages, the other
    operations (their line without CRLF), and how many bytes they took."""
    msgs: list[Msg] = []
    ops: list[bytes] = []
    find, starts = data.find, data.startswith
    pos, end = 0, len(data)
    try:
        while True:
            eol = find(b"\r\n", pos)
            if eol < 0:
                break
            if starts(b"MSG ", pos):
                args = data[pos + 4:eol].split(b" ")
                stop = eol + 2 + int(args[-1])
                if stop + 2 > end:
                    break
                msgs.append((args[0], b"", data[eol + 2:stop]))
            elif starts(b"HMSG ", pos):
                args = data[pos + 5:eol].split(b" ")
                split, stop = eol + 2 + int(args[-2]), eol + 2 + int(args[-1])
                if stop + 2 > end:
                    break
                msgs.append((args[0], data[eol + 2:split], data[split:stop]))
            else:
                ops.append(data[pos:eol])
                stop = eol  # a line: no payload
            if data[stop:stop + 2] != b"\r\n":
                raise ValueError("no CRLF where a frame ends")
            pos = stop + 2
    except (ValueError, IndexError):
        raise ProtocolError(f"unreadable frame {data[pos:pos + 80]!r}") from None
    return msgs, ops, pos


def error_text(op: bytes) -> str:
    """The text of a `-ERR 'text'` line."""
    return op[4:].strip().strip(b"'").decode(errors="replace")
