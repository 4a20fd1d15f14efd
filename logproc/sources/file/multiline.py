"""Multiline entries: a line that does not match `multiline.start` continues the one before.

`MultilineSplitter` has `LineSplitter`'s contract (feed / flush / pending / reset), with
lines replaced by entries: the lines of one entry joined with `\\n` (each without its
`\\n`, its trailing `\\r` and the NULs at its start; empty lines inside an entry are kept,
empty lines between entries and at an entry's end are left out and counted).

The entry still being built is not handed out: its bytes stay in the carry, after the
partial line, so `pending` covers them and the batch end a checkpoint may reach is the
offset where that entry starts. A checkpoint therefore never passes a half-built entry;
after a restart the entry is read again from its first line. It is complete when the next
start line arrives, when `flush_entry()` is called (the source does so once the file has
been quiet for `multiline.timeout` seconds), or at the end of a `--once` run (`flush`).

Long entries: an entry whose bytes in the file (from its first character to its last,
the `\\n`, `\\r` and NULs between them included) pass `max_line_bytes` is cut into pieces
of at most `max_line_bytes` bytes of the file each, at a UTF-8 character boundary and never
between `\\r` and `\\n`; each piece holds the entry's text for its bytes and is handed out
with its part number (1, 2, …) in `parts`, as `LineSplitter` does for a long line, and is
an entry of its own from then on (parsed, delivered, counted). The pieces are the same
however the file was read: an entry is cut as it grows, once the bytes known to belong to
it pass the limit (its complete lines up to the last non-blank one: blank lines at its
end, which a start line would drop, and the partial line wait). A piece is the part of an
entry handed out: the batch end moves past it, never past the rest, which stays in the
carry. After a restart that rest is read again from where the last piece ended and, not
being a start line, arrives as an entry of its own (as the rest of a long line does).

Limits: the carry holds at most the entry's last piece, the blank lines after it and a
partial line, each at most `max_line_bytes` (so about three times it, plus one read). A
partial line longer than the limit is judged by what there is of it: if it matches the
start pattern or is all NULs, the entry before it is complete; else it continues that
entry and is cut with it. A run of blank lines past the limit ends the entry (as a start
line would). These two are the only cases where what is handed out depends on how the
file was read. NULs at a line start are dropped, as `LineSplitter` does. The start pattern
runs on RE2 (`logproc.patterns`: linear in the line; `\\d`, `\\s` and `\\w` are ASCII
classes), anchored at each line's start and never past its end (its trailing `\\r` not
included). Lines before the first start line of a file form an entry of their own.

Offsets (with `offsets` on, as `LineSplitter` gives them): an entry's is its first line's,
a piece's its own first byte's (so the rest of a cut entry read again after a restart has
the same one); NULs at a line start are not counted.
"""

from __future__ import annotations

from logproc.patterns import compile_pattern
from logproc.sources.file.lines import Split, line_starts


class MultilineSplitter:
    __slots__ = ("_carry", "_end", "_mid", "_part", "_start", "max_line_bytes", "offsets")

    def __init__(self, start: str, max_line_bytes: int, offsets: bool = False) -> None:
        # multiline: `^` must match at a line start inside the buffer (starts(data, pos, eol))
        self._start = compile_pattern(start, multiline=True).starts
        self.max_line_bytes = max_line_bytes
        self.offsets = offsets  # give each entry's offset (see the module doc)
        self._end = 0  # file position past the bytes fed; the carry is a suffix of them
        self._carry = b""
        # the carry continues an entry already cut: pieces handed out of it, and whether its
        # first bytes continue a line (then its NULs are content, not a line start's)
        self._part = 0
        self._mid = False

    @property
    def pending(self) -> int:
        return len(self._carry)

    @property
    def holds_entry(self) -> bool:
        """A complete line waits in an unfinished entry (what `flush_entry` would hand out)."""
        return b"\n" in self._carry

    def reset(self) -> None:
        self._carry = b""
        self._part = 0
        self._mid = False

    def _out(self) -> Split:
        return Split([], None, 0, 0, [] if self.offsets else None)

    def feed(self, chunk: bytes, at: int = 0) -> Split:
        data = self._carry + chunk if self._carry else chunk
        self._end = at + len(chunk)
        end = data.rfind(b"\n") + 1  # just past the last complete line
        # the last line start (after position 0) whose line matches: entries before it are done
        cut = 0
        if end:
            pos = data.rfind(b"\n", 0, end - 1) + 1
            while pos > 0:
                if self._starts(data, pos):
                    cut = pos
                    break
                pos = data.rfind(b"\n", 0, pos - 1) + 1
        out = self._out()
        if cut:
            self._emit(data[:cut], out, self._end - len(data))
            data = data[cut:]
        self._carry = data
        if len(data) > self.max_line_bytes:
            self._grow(out)
        return out

    def _starts(self, data: bytes, pos: int) -> bool:
        """Does the complete line at `pos` start an entry? (Without its `\\r`, and without
        the NULs at its start: the hole a writer without O_APPEND leaves after copytruncate.)"""
        eol = data.find(b"\n", pos)
        if (eol > pos and data[eol - 1] == 13) or data[pos:pos + 1] == b"\0":
            # RE2 sees past `eol` (`$` needs the `\n` there): match the line as `_entries` does
            line = data[pos:eol]
            return self._start((line[:-1] if line.endswith(b"\r") else line).lstrip(b"\0"))
        return self._start(data, pos, eol)

    def flush_entry(self) -> Split:
        """Hand out the entry being built (its lines are complete; a partial line stays)."""
        out = self._out()
        end = self._carry.rfind(b"\n") + 1
        if end:
            base = self._end - len(self._carry)
            done, self._carry = self._carry[:end], self._carry[end:]
            self._emit(done, out, base)
        return out

    def flush(self) -> Split:
        """Hand out everything carried (end of a `--once` run)."""
        data = self._carry
        base = self._end - len(data)
        self._carry = b""
        out = self._out()
        if data and not data.endswith(b"\n"):
            data += b"\n"
        self._emit(data, out, base)
        self.reset()
        return out

    # -- complete entries ----------------------------------------------------------------
    def _emit(self, region: bytes, out: Split, base: int) -> None:
        """Append to `out` the entries of `region` (complete lines, the first continuing the
        carry's cut entry if any; `base`: its file position); the carry starts at a line
        start after it."""
        if not region:
            return
        if not self._part:
            entries, empty, offs = self._entries(region, base if out.offsets is not None else None)
            # an entry's bytes are its text plus the `\r` and NULs left out of it: when even
            # the longest with them all is within the limit, none is cut
            limit = self.max_line_bytes
            if len(region) <= limit or (max(map(len, entries), default=0) + region.count(b"\r")
                                        + region.count(b"\0") <= limit):
                out.empty += empty
                out.lines += entries
                if out.parts is not None:
                    out.parts += [0] * len(entries)
                if out.offsets is not None and offs is not None:
                    out.offsets += offs
                return
        self._emit_cut(region, out, base)

    def _entries(self, data: bytes, base: int | None) -> tuple[list[bytes], int, list[int] | None]:
        """The entries of `data` (no piece to cut), the empty lines left out, and (with
        `base`, the file position of `data`) each entry's offset."""
        lines = data[:-1].split(b"\n")
        starts = line_starts(lines, base) if base is not None else None
        if b"\r" in data:
            lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        if b"\0" in data:
            raw = lines
            lines = [ln.lstrip(b"\0") for ln in lines]
            if starts is not None:  # a line starts after its NULs
                starts = [o + len(r) - len(ln) for o, r, ln in zip(starts, raw, lines, strict=True)]
        match = self._start
        out: list[bytes] = []
        offs: list[int] | None = None if starts is None else []
        current: list[bytes] = []
        empty = 0
        for i, line in enumerate(lines):
            if match(line) and current:
                empty += _close(current, out)
                current = []
            if not line and not current:
                empty += 1  # between entries: not part of one
                continue
            if not current and offs is not None and starts is not None:
                offs.append(starts[i])
            current.append(line)
        if current:
            empty += _close(current, out)
        return out, empty, offs

    def _emit_cut(self, region: bytes, out: Split, base: int) -> None:
        """`_emit` with positions: each entry is the bytes from its first character to the
        end of its last non-blank line, cut into pieces when longer than the limit."""
        match = self._start
        part, mid = self._part, self._mid
        self._part, self._mid = 0, False
        begin = -1  # where the current entry's bytes start (-1: none open)
        last = 0  # end of its last non-blank line (without `\r`)
        trailing = 0  # blank lines after it
        pos = 0
        first = bool(part)  # the first line continues a cut entry: never a start, never left out
        while pos < len(region):
            eol = region.index(b"\n", pos)
            stop = eol - 1 if eol > pos and region[eol - 1] == 13 else eol
            content = pos
            if not (first and mid):
                while content < stop and region[content] == 0:
                    content += 1
            line = region[content:stop]
            if first:
                begin, last, trailing = 0, stop if line else 0, 0
            else:
                if begin >= 0 and match(line):
                    self._pieces(region, begin, last, part, mid, out, base)
                    out.empty += trailing
                    begin, part, mid = -1, 0, False
                if begin < 0:
                    if not line:
                        out.empty += 1  # between entries: not part of one
                    else:
                        begin, last, trailing = content, stop, 0
                elif line:
                    last, trailing = stop, 0
                else:
                    trailing += 1
            first = False
            pos = eol + 1
        if begin >= 0:
            self._pieces(region, begin, last, part, mid, out, base)
            out.empty += trailing

    def _pieces(self, data: bytes, begin: int, end: int, part: int, mid: bool, out: Split,
                base: int) -> None:
        """Hand out the entry `data[begin:end]` (`base`: the file position of `data`):
        whole, or the pieces not handed out yet of one already cut `part` times (`mid`: it
        starts inside a line)."""
        begin, part, mid = self._cut(data, begin, end, part, mid, out, base)
        if begin >= end:
            return
        text = _text(data[begin:end], not mid)
        if not text:
            return
        if out.offsets is not None:
            out.offsets.append(base + _first_byte(data, begin, mid))
        if out.parts is None:
            if not part:
                out.lines.append(text)
                return
            out.parts = [0] * len(out.lines)
        out.lines.append(text)
        out.parts.append(part + 1 if part else 0)
        if part:
            out.pieces += 1

    def _cut(self, data: bytes, begin: int, end: int, part: int, mid: bool,
             out: Split, base: int) -> tuple[int, int, bool]:
        """Hand out pieces of `data[begin:end]` while more than the limit is left; returns
        where the rest starts, the pieces handed out so far and whether the rest starts
        inside a line."""
        limit = self.max_line_bytes
        while end - begin > limit:
            q = _cut_at(data, begin, limit)
            text = _text(data[begin:q], not mid)
            first = _first_byte(data, begin, mid)
            # the rest starts inside a line when that line has content before `q`
            nl = data.rfind(b"\n", begin, q)
            if nl >= 0:
                mid = bool(data[nl + 1:q].lstrip(b"\0"))
            elif not mid:
                mid = bool(data[begin:q].lstrip(b"\0"))
            begin = q
            if not text:  # NULs at a line start: nothing of the entry's text
                continue
            part += 1
            if out.parts is None:
                out.parts = [0] * len(out.lines)
            out.lines.append(text)
            out.parts.append(part)
            if out.offsets is not None:
                out.offsets.append(base + first)
            out.pieces += 1
        return begin, part, mid

    # -- the entry being built -----------------------------------------------------------
    def _grow(self, out: Split) -> None:
        """The carry passed the limit: cut the entry being built as far as its bytes are
        known to belong to it (see the module doc); end it first before a partial line past
        the limit that starts an entry, or after a run of blank lines past the limit."""
        limit = self.max_line_bytes
        carry = self._carry if self._part else _skip_blank(self._carry, out)
        end = carry.rfind(b"\n") + 1  # just past the last complete line
        # known to be the entry's: its complete lines up to the last non-blank one, or all of
        # it with a partial line past the limit (but a last `\r`: its `\n` may be coming)
        known = len(carry) - (1 if carry.endswith(b"\r") else 0)
        if end:
            last = self._last_content(carry, end)
            ends = end - last > limit  # blank lines past the limit
            if not ends and len(carry) - end > limit:
                line = carry[end:].lstrip(b"\0")
                ends = not line or self._start(line[:-1] if line.endswith(b"\r") else line)
            if ends:
                self._emit(carry[:end], out, self._end - len(carry))
                carry = carry[end:].lstrip(b"\0")  # NULs at a line start
                known = len(carry) - (1 if carry.endswith(b"\r") else 0)
            elif len(carry) - end <= limit:
                known = last
        begin, part, mid = self._cut(carry, 0, known, self._part, self._mid, out, self._end - len(carry))
        self._carry = carry[begin:]
        self._part, self._mid = part, mid and bool(part)

    def _last_content(self, carry: bytes, end: int) -> int:
        """Where the content of the last non-blank complete line of `carry[:end]` ends
        (without its `\\r`; 0 when every line is blank)."""
        eol = end - 1
        if eol and carry[eol - 1] == 10:  # a run of `\n`: the blank lines it makes, at once
            eol = len(carry[:end].rstrip(b"\n"))
        while eol >= 0:
            pos = carry.rfind(b"\n", 0, eol) + 1
            stop = eol - 1 if eol > pos and carry[eol - 1] == 13 else eol
            line = carry[pos:stop]
            if line.lstrip(b"\0") or (line and not pos and self._part and self._mid):
                return stop
            eol = pos - 1
        return 0


def _skip_blank(carry: bytes, out: Split) -> bytes:
    """`carry` from its first non-blank line, at a line start: blank lines before an entry
    are counted and left out, NULs at a line start dropped."""
    pos = 0
    while True:
        eol = carry.find(b"\n", pos)
        if eol < 0:
            break
        line = carry[pos:eol]
        if line[-1:] == b"\r":
            line = line[:-1]
        if line.lstrip(b"\0"):
            break
        out.empty += 1
        pos = eol + 1
    if carry[pos:pos + 1] == b"\0":
        return carry[pos:].lstrip(b"\0")
    return carry[pos:] if pos else carry


def _first_byte(data: bytes, begin: int, mid: bool) -> int:
    """Where the text of a piece or entry at `begin` starts: past NULs at a line start."""
    if mid or data[begin:begin + 1] != b"\0":
        return begin
    return len(data) - len(data[begin:].lstrip(b"\0"))


def _cut_at(data: bytes, begin: int, limit: int) -> int:
    """The end of a piece starting at `begin`: at most `limit` bytes, not inside a UTF-8
    sequence (unless there is none to cut at), not between `\\r` and `\\n`."""
    q = begin + limit
    for p in range(q, max(q - 4, begin), -1):
        if (data[p] & 0xC0) != 0x80:
            q = p
            break
    if data[q] == 10 and data[q - 1] == 13 and q - 1 > begin:
        q -= 1
    return q


def _text(raw: bytes, line_start: bool) -> bytes:
    """The entry text of `raw` (`line_start`: it begins at a line start, not inside one)."""
    if b"\r" not in raw and b"\0" not in raw:
        return raw
    lines = raw.split(b"\n")
    last = len(lines) - 1
    return b"\n".join(_clean(line, i < last, bool(i) or line_start) for i, line in enumerate(lines))


def _clean(line: bytes, complete: bool, at_start: bool) -> bytes:
    """A line's text: without the `\\r` before its `\\n`, without NULs at its start."""
    if complete and line[-1:] == b"\r":
        line = line[:-1]
    if at_start and line[:1] == b"\0":
        line = line.lstrip(b"\0")
    return line


def _close(lines: list[bytes], out: list[bytes]) -> int:
    """Append the entry of `lines`; blank lines at its end (before the next start) are not
    its own: they are dropped and their count returned."""
    n = len(lines)
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    out.append(b"\n".join(lines))
    return n - len(lines)
