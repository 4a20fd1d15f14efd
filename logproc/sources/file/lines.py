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
  just past the last byte handed out: the batch end a checkpoint may advance to;
- with `offsets` on (a sink uses the entries' stable ids), `feed(chunk, at)` (`at`: the
  file position of the chunk's first byte) also gives each line's offset: the position of
  its first byte, NULs at a line start not counted (they are never part of it). A piece
  of a cut line has its own first byte's offset, not the line's: after a restart inside
  the line (a checkpoint after a piece) the rest is read as a line of its own, from that
  very position, so its offset, unlike its part number, is the same either way.

The common case (no `\\r`, no empty line, no long line) is one `rfind`, one slice and one
`split` (with offsets, one `accumulate` over the lengths, in C); every other case pays
only when present in the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add


@dataclass(slots=True)
class Split:
    lines: list[bytes]
    parts: list[int] | None  # None, or aligned with lines: 0 whole line, k >= 1 piece k
    empty: int  # empty lines skipped
    pieces: int  # pieces emitted for long lines
    offsets: list[int] | None = None  # with offsets on: aligned with lines, each one's offset


def line_starts(lines: list[bytes], base: int) -> list[int]:
    """Offsets of `lines`, split on `\\n` from a buffer at `base` (C-level loops only)."""
    out = list(accumulate(map(add, map(len, lines), repeat(1)), initial=base))
    out.pop()
    return out


def _cut(data: bytes, limit: int) -> int:
    """Largest cut position <= limit that does not split a UTF-8 sequence (limit if none)."""
    for p in range(limit, max(limit - 4, 0), -1):
        if (data[p] & 0xC0) != 0x80:
            return p
    return limit  # not UTF-8 here: cut at the limit


class LineSplitter:
    """Splits a byte stream into lines for one file."""

    __slots__ = ("_carry", "_end", "_part", "max_line_bytes", "offsets")

    def __init__(self, max_line_bytes: int, offsets: bool = False) -> None:
        self.max_line_bytes = max_line_bytes
        self.offsets = offsets  # give each line's offset (see the module doc)
        self._carry = b""
        self._part = 0  # pieces already emitted of the line in the carry
        # file position just past the bytes fed: the carry, always a suffix of them, starts
        # at `_end - len(_carry)`
        self._end = 0

    @property
    def pending(self) -> int:
        return len(self._carry)

    def reset(self) -> None:
        self._carry = b""
        self._part = 0

    def feed(self, chunk: bytes, at: int = 0) -> Split:
        """The complete lines so far; `at` is the file position of `chunk` (for offsets)."""
        data = self._carry + chunk if self._carry else chunk
        self._end = at + len(chunk)
        nl = data.rfind(b"\n")
        if nl < 0:
            self._carry = data
            return self._cut_carry([], None, [] if self.offsets else None)
        complete = data[:nl]
        self._carry = data[nl + 1:]
        lines = complete.split(b"\n")
        offs = line_starts(lines, self._end - len(data)) if self.offsets else None
        if b"\r" in complete:
            lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        if b"\0" in complete:
            # a run of NULs at a line start is the hole a writer without O_APPEND leaves
            # after copytruncate: never part of a log line
            raw = lines
            lines = [ln.lstrip(b"\0") for ln in lines]
            if self._part:  # the first continues a line already cut into pieces: no line start
                lines[0] = raw[0]
            if offs is not None:  # a line starts after its NULs
                offs = [o + len(r) - len(ln) for o, r, ln in zip(offs, raw, lines, strict=True)]
        empty = 0
        first_part = self._part
        self._part = 0
        if not all(lines):
            n = len(lines)
            if first_part and not lines[0]:
                first_part = 0  # the long line ended exactly at its last piece
            if offs is not None:
                offs = [o for o, ln in zip(offs, lines, strict=True) if ln]
            lines = [ln for ln in lines if ln]
            empty = n - len(lines)
        limit = self.max_line_bytes
        parts: list[int] | None = None
        pieces = 0
        if first_part or len(complete) > limit:
            lines, parts, offs, pieces = self._split_long(lines, first_part, offs)
        split = self._cut_carry(lines, parts, offs)
        split.empty += empty
        split.pieces += pieces
        return split

    def _split_long(self, lines: list[bytes], first_part: int, offs: list[int] | None
                    ) -> tuple[list[bytes], list[int] | None, list[int] | None, int]:
        limit = self.max_line_bytes
        if not first_part and max(map(len, lines), default=0) <= limit:
            return lines, None, offs, 0
        out: list[bytes] = []
        parts: list[int] = []
        out_offs: list[int] | None = None if offs is None else []
        pieces = 0
        for i, line in enumerate(lines):
            part = first_part if i == 0 else 0
            at = offs[i] if offs is not None else 0
            if len(line) <= limit and not part:
                out.append(line)
                parts.append(0)
                if out_offs is not None:
                    out_offs.append(at)
                continue
            rest = line
            while len(rest) > limit:
                p = _cut(rest, limit)
                part += 1
                out.append(rest[:p])
                parts.append(part)
                if out_offs is not None:
                    out_offs.append(at)
                at += p
                rest = rest[p:]
                pieces += 1
            out.append(rest)
            parts.append(part + 1)
            if out_offs is not None:
                out_offs.append(at)
            pieces += 1
        return out, parts, out_offs, pieces

    def _cut_carry(self, lines: list[bytes], parts: list[int] | None, offs: list[int] | None) -> Split:
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
                if offs is not None:
                    offs.append(self._end - len(carry))
                carry = carry[p:]
                pieces += 1
            self._carry = carry
        return Split(lines, parts, 0, pieces, offs)

    def flush(self) -> Split:
        """Hand out the carried partial line (end of a `--once` run)."""
        carry, part = self._carry, self._part
        at = self._end - len(carry)
        self.reset()
        if carry.endswith(b"\r"):
            carry = carry[:-1]
        offs = [at] if self.offsets else None
        if not carry:
            return Split([], None, 0, 0, [] if self.offsets else None)
        return Split([carry], [part + 1] if part else None, 0, 1 if part else 0, offs)
