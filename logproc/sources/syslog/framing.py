"""Syslog over a byte stream (TCP, TLS): where one message ends and the next begins.

RFC 6587 names two framings, and senders use both:

- octet counting (RFC 5425, rsyslog's `TCP_Framing="octet-counted"`, `logger
  --octet-count`): `LEN SP MSG`, LEN in decimal; a message may hold newlines;
- non-transparent framing: messages end with LF (`logger --tcp`, most devices).

`framing = "auto"` (the default) decides frame by frame, as rsyslog's imtcp does: a frame
that starts with a digit is octet-counted (when the digits end in a space; otherwise it
is a newline-terminated frame that happens to start with a digit), anything else ends at
the next LF. `"octet"` accepts octet-counted frames only (LF, CR, NUL or spaces between
frames are skipped: some senders add them) and raises `FramingError` on anything else;
`"newline"` only splits at LF.

Limits, the same for every framing: a message longer than `max_bytes` is **cut** to its
first `max_bytes` bytes (RFC 5424 6.1 allows a receiver to truncate; the header, which
makes the entry, is kept) and the rest of it is skipped; `Framer.cut` counts such
messages. At most `max_bytes` plus a frame header is buffered per connection.

Each message is trimmed of one trailing LF, then of one trailing CR or NUL (`trim`).
Empty messages are returned (the caller counts and leaves them out). Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

Framing = Literal["auto", "octet", "newline"]
MAX_DIGITS = 10  # an octet count of more digits is no octet count


class FramingError(ValueError):
    """Bytes that are no octet-counted frame while `framing = "octet"`."""


def trim(msg: bytes) -> bytes:
    """`msg` without one trailing LF, then without one trailing CR or NUL."""
    if msg.endswith(b"\n"):
        msg = msg[:-1]
    if msg.endswith((b"\r", b"\0")):
        msg = msg[:-1]
    return msg


class Framer:
    """Frames one stream: `feed(data)` returns the messages completed by `data`;
    `finish()` at the end of the stream returns what is left (a last message without its
    LF; an octet-counted frame cut short counts in `cut`)."""

    __slots__ = ("_rest", "_skip", "_skip_line", "cut", "framing", "max_bytes")

    def __init__(self, framing: Framing = "auto", max_bytes: int = 65536) -> None:
        self.framing = framing
        self.max_bytes = max_bytes
        self.cut = 0  # messages cut at max_bytes
        self._rest = b""  # bytes of an incomplete frame
        self._skip = 0  # bytes of a cut octet-counted frame still to skip
        self._skip_line = False  # skipping the rest of a cut newline frame

    @property
    def buffered(self) -> int:
        return len(self._rest)

    def feed(self, data: bytes) -> list[bytes]:
        if self._rest:
            data = self._rest + data
            self._rest = b""
        if self.framing == "newline" and not self._skip_line:
            return self._lines(data)
        out: list[bytes] = []
        pos, n, limit = 0, len(data), self.max_bytes
        octet_ok = self.framing != "newline"
        while pos < n:
            if self._skip:
                take = min(self._skip, n - pos)
                self._skip -= take
                pos += take
                continue
            if self._skip_line:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    return out
                pos, self._skip_line = nl + 1, False
                continue
            c = data[pos]
            if octet_ok and 48 <= c <= 57:
                sp = data.find(b" ", pos, pos + MAX_DIGITS + 1)
                if sp < 0 and n - pos <= MAX_DIGITS and data[pos:n].isdigit():
                    break  # the count is not complete yet
                if sp > pos and data[pos:sp].isdigit():
                    length, start = int(data[pos:sp]), sp + 1
                    if length > limit:
                        if n - start < limit:
                            break
                        out.append(trim(data[start:start + limit]))
                        self.cut += 1
                        self._skip = length - limit
                        pos = start + limit
                        continue
                    if n - start < length:
                        break
                    out.append(trim(data[start:start + length]))
                    pos = start + length
                    continue
                if self.framing == "octet":
                    raise FramingError(f"no octet count at {data[pos:pos + 16]!r}")
            elif self.framing == "octet":
                if c in b"\n\r\0 ":
                    pos += 1
                    continue
                raise FramingError(f"no octet count at {data[pos:pos + 16]!r}")
            nl = data.find(b"\n", pos, pos + limit + 1)
            if nl < 0:
                if n - pos > limit:  # no LF within the limit: cut, skip to the next LF
                    out.append(trim(data[pos:pos + limit]))
                    self.cut += 1
                    self._skip_line = True
                    pos += limit
                    continue
                break
            out.append(trim(data[pos:nl + 1]))
            pos = nl + 1
        self._rest = data[pos:]
        return out

    def _lines(self, data: bytes) -> list[bytes]:
        """`framing = "newline"`: split at every LF (the fast path)."""
        lines = data.split(b"\n")
        rest = lines.pop()
        limit = self.max_bytes
        out = [trim(line) for line in lines]
        if any(len(m) > limit for m in out):
            self.cut += sum(len(m) > limit for m in out)
            out = [m[:limit] for m in out]
        if len(rest) > limit:
            out.append(trim(rest[:limit]))
            self.cut += 1
            self._skip_line = True
            rest = b""
        self._rest = rest
        return out

    def finish(self) -> list[bytes]:
        """The end of the stream: what is left as a last message (an octet-counted frame
        cut short is delivered as far as it came, and counted in `cut`)."""
        rest, self._rest = self._rest, b""
        if not rest or self._skip or self._skip_line:
            return []
        if self.framing != "newline" and 48 <= rest[0] <= 57:
            sp = rest.find(b" ", 0, MAX_DIGITS + 1)
            if sp > 0 and rest[:sp].isdigit():
                self.cut += 1
                return [trim(rest[sp + 1:])]
            if self.framing == "octet":
                return []
        elif self.framing == "octet":
            return []
        return [trim(rest[:self.max_bytes])]
