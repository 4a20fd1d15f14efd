"""Multiline entries: a line that does not match `multiline.start` continues the one before.

`MultilineSplitter` has `LineSplitter`'s contract (feed / flush / pending / reset), with
lines replaced by entries: the lines of one entry joined with `\\n` (each without its
`\\n` and trailing `\\r`; empty lines inside an entry are kept, empty lines between
entries are left out and counted).

The entry still being built is not handed out: its bytes stay in the carry, after the
partial line, so `pending` covers them and the batch end a checkpoint may reach is the
offset where that entry starts. A checkpoint therefore never passes a half-built entry;
after a restart the entry is read again from its first line. It is complete when the next
start line arrives, when `flush_entry()` is called (the source does so once the file has
been quiet for `multiline.timeout` seconds), or at the end of a `--once` run (`flush`).

Limits: the carry never holds more than `max_line_bytes` (plus one read): an entry that
reaches that size is handed out as it is (the rest continues as an entry of its own), and
so is a line that long with no newline yet. An entry completed within one read may be
longer (up to a read, 1 MiB). NULs at a line start are dropped, as `LineSplitter` does. The
start pattern runs on RE2 (`logproc.patterns`: linear in the line; `\\d`, `\\s` and `\\w`
are ASCII classes), anchored at each line's start and never past its end. Lines before the
first start line of a file form an entry of their own.
"""

from __future__ import annotations

from logproc.patterns import compile_pattern
from logproc.sources.lines import Split


class MultilineSplitter:
    __slots__ = ("_carry", "_start", "max_line_bytes")

    def __init__(self, start: str, max_line_bytes: int) -> None:
        # multiline: `^` must match at a line start inside the buffer (starts(data, pos, eol))
        self._start = compile_pattern(start, multiline=True).starts
        self.max_line_bytes = max_line_bytes
        self._carry = b""

    @property
    def pending(self) -> int:
        return len(self._carry)

    @property
    def holds_entry(self) -> bool:
        """A complete line waits in an unfinished entry (what `flush_entry` would hand out)."""
        return b"\n" in self._carry

    def reset(self) -> None:
        self._carry = b""

    def feed(self, chunk: bytes) -> Split:
        data = self._carry + chunk if self._carry else chunk
        end = data.rfind(b"\n") + 1  # just past the last complete line
        limit = self.max_line_bytes
        if not end:
            if len(data) > limit:  # one line past the limit with no newline: hand it out
                self._carry = b""
                return self._entries(data + b"\n")
            self._carry = data
            return Split([], None, 0, 0)
        # the last line start (after position 0) whose line matches: entries before it are done
        cut = 0
        pos = data.rfind(b"\n", 0, end - 1) + 1
        while pos > 0:
            if self._starts(data, pos):
                cut = pos
                break
            pos = data.rfind(b"\n", 0, pos - 1) + 1
        if not cut and end > limit:
            cut = end  # one entry as long as the limit: hand it out as it is
        if len(data) - cut > limit:  # and a partial line past the limit after it
            cut = len(data)
            data += b"\n"
        self._carry = data[cut:]
        return self._entries(data[:cut])

    def _starts(self, data: bytes, pos: int) -> bool:
        """Does the line at `pos` start an entry? (NULs at a line start are not part of it:
        the hole a writer without O_APPEND leaves after copytruncate.)"""
        eol = data.find(b"\n", pos)
        if data[pos:pos + 1] == b"\0":
            return self._start(data[pos:eol].lstrip(b"\0"))
        return self._start(data, pos, len(data) if eol < 0 else eol)

    def flush_entry(self) -> Split:
        """Hand out the entry being built (its lines are complete; a partial line stays)."""
        end = self._carry.rfind(b"\n") + 1
        done, self._carry = self._carry[:end], self._carry[end:]
        return self._entries(done)

    def flush(self) -> Split:
        """Hand out everything carried (end of a `--once` run)."""
        data, self._carry = self._carry, b""
        if data and not data.endswith(b"\n"):
            data += b"\n"
        return self._entries(data)

    def _entries(self, data: bytes) -> Split:
        if not data:
            return Split([], None, 0, 0)
        lines = data[:-1].split(b"\n")
        if b"\r" in data:
            lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        if b"\0" in data:
            lines = [ln.lstrip(b"\0") for ln in lines]
        match = self._start
        out: list[bytes] = []
        current: list[bytes] = []
        empty = 0
        for line in lines:
            if match(line) and current:
                empty += _close(current, out)
                current = []
            if not line and not current:
                empty += 1  # between entries: not part of one
                continue
            current.append(line)
        if current:
            empty += _close(current, out)
        return Split(out, None, empty, 0)


def _close(lines: list[bytes], out: list[bytes]) -> int:
    """Append the entry of `lines`; blank lines at its end (before the next start) are not
    its own: they are dropped and their count returned."""
    n = len(lines)
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    out.append(b"\n".join(lines))
    return n - len(lines)
