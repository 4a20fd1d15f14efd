"""Chunk → complete lines, at the bytes level, with a partial-line carry.

Contract of `LineSplitter.feed(chunk)`:
- returns the complete lines in `carry + chunk`, without `\\n` and without a trailing `\\r`;
  NUL bytes at the start of a line are removed (copytruncate holes); empty lines are left
  out and counted in `empty`;
- a line longer than `max_line_bytes` is cut into pieces at UTF-8 character boundaries;
  each piece is delivered on its own with its part number (1, 2, …) in `parts`; a line
  that keeps growing without a newline is cut as it grows, so memory stays bounded by
  `max_line_bytes` per file whatever the input;
- the bytes after the last newline stay in the carry until their newline arrives
  (`flush()` hands them out at the end of a `--once` run);
- `pending` is the number of carried bytes, so `read position - pending` is the offset
  just past the last byte handed out: the batch end a checkpoint may advance to.

The common case (no `\\r`, no empty line, no long line) is one `rfind`, one slice and one
`split`; every other case pays only when present in the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Split:
    lines: list[bytes]
    parts: list[int] | None  # None, or aligned with lines: 0 whole line, k >= 1 piece k
    empty: int  # empty lines skipped
    pieces: int  # pieces emitted for long lines


def _cut(data: bytes, limit: int) -> int:
    """Largest cut position <= limit that does not split a UTF-8 sequence (limit if none)."""
    for p in range(limit, max(limit - 4, 0), -1):
        if (data[p] & 0xC0) != 0x80:
            return p
    return limit  # not UTF-8 here: cut at the limit


class LineSplitter:
    """Splits a byte stream into lines for one file."""

    __slots__ = ("_carry", "_part", "max_line_bytes")

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._carry = b""
        self._part = 0  # pieces already emitted of the line in the carry

    @property
    def pending(self) -> int:
        return len(self._carry)

    def reset(self) -> None:
        self._carry = b""
        self._part = 0

    def feed(self, chunk: bytes) -> Split:
        data = self._carry + chunk if self._carry else chunk
        nl = data.rfind(b"\n")
        if nl < 0:
            self._carry = data
            return self._cut_carry([], None)
        complete = data[:nl]
        self._carry = data[nl + 1:]
        lines = complete.split(b"\n")
        if b"\r" in complete:
            lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        if b"\0" in complete:
            # a run of NULs at a line start is the hole a writer without O_APPEND leaves
            # after copytruncate: never part of a log line
            first = lines[0]
            lines = [ln.lstrip(b"\0") for ln in lines]
            if self._part:  # the first continues a line already cut into pieces: no line start
                lines[0] = first
        empty = 0
        first_part = self._part
        self._part = 0
        if not all(lines):
            n = len(lines)
            if first_part and not lines[0]:
                first_part = 0  # the long line ended exactly at its last piece
            lines = [ln for ln in lines if ln]
            empty = n - len(lines)
        limit = self.max_line_bytes
        parts: list[int] | None = None
        pieces = 0
        if first_part or len(complete) > limit:
            lines, parts, pieces = self._split_long(lines, first_part)
        split = self._cut_carry(lines, parts)
        split.empty += empty
        split.pieces += pieces
        return split

    def _split_long(self, lines: list[bytes], first_part: int) -> tuple[list[bytes], list[int] | None, int]:
        limit = self.max_line_bytes
        if not first_part and max(map(len, lines), default=0) <= limit:
            return lines, None, 0
        out: list[bytes] = []
        parts: list[int] = []
        pieces = 0
        for i, line in enumerate(lines):
            part = first_part if i == 0 else 0
            if len(line) <= limit and not part:
                out.append(line)
                parts.append(0)
                continue
            rest = line
            while len(rest) > limit:
                p = _cut(rest, limit)
                part += 1
                out.append(rest[:p])
                parts.append(part)
                rest = rest[p:]
                pieces += 1
            out.append(rest)
            parts.append(part + 1)
            pieces += 1
        return out, parts, pieces

    def _cut_carry(self, lines: list[bytes], parts: list[int] | None) -> Split:
        """Emit pieces of a carry that grew past the limit without a newline."""
        limit = self.max_line_bytes
        carry = self._carry
        if not self._part and carry[:1] == b"\0":
            # NULs at a line start are never part of it (see feed): dropped here too, so a
            # hole longer than the limit is not cut into pieces of NULs
            carry = self._carry = carry.lstrip(b"\0")
        pieces = 0
        if len(carry) > limit:
            if parts is None:
                parts = [0] * len(lines)
            while len(carry) > limit:
                p = _cut(carry, limit)
                self._part += 1
                lines.append(carry[:p])
                parts.append(self._part)
                carry = carry[p:]
                pieces += 1
            self._carry = carry
        return Split(lines, parts, 0, pieces)

    def flush(self) -> Split:
        """Hand out the carried partial line (end of a `--once` run)."""
        carry, part = self._carry, self._part
        self.reset()
        if carry.endswith(b"\r"):
            carry = carry[:-1]
        if not carry:
            return Split([], None, 0, 0)
        return Split([carry], [part + 1] if part else None, 0, 1 if part else 0)
