"""Operator patterns: every regular expression written in a config runs on RE2, in linear time.

Used for `parser = "regex"`'s `pattern`, sink `include`/`exclude`, user `redact` patterns and
`multiline.start`. logproc's own patterns (access logs, syslog, built-in redactions) stay
on Python's `re`: they are fixed, reviewed, and have no nested or ambiguous repetition.

Decision: a backtracking engine (Python's `re`) can take exponential time on a pattern
such as `(a+)+b` and a line of forty `a`, and quadratic time on ordinary ones (`\\w+ x`
searched in a 1 MiB line with no space: ~10^11 steps), all while holding the GIL: the
daemon stops answering signals, `/metrics`, and every other source. Cutting lines at
`max_line_bytes` does not bound it. Two answers were weighed: a time limit per match (the
`regex` package's `timeout=`), which turns a runaway match into a `parse_error` but still
spends the limit on every hostile line and makes results depend on machine load; and a
linear-time engine, which cannot run away at all. RE2 (google-re2, the engine behind
Go's and Vector's regex semantics) was chosen: its cost is proportional to the line,
whatever the pattern. What it lacks is refused by `logproc check` with a clear message:
backreferences (`\\1`, `(?P=name)`), lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), atomic
groups and possessive repetition; `\\Z` is written `\\z`. Classes `\\d`, `\\w`, `\\s`, `\\b`
are ASCII, and `$` matches only at the very end of the text (not before a final `\\n`).

The calls go to the binding's compiled object (`re2._re2.RE2.Match`) rather than the
`re`-like wrapper module, whose per-call Python work (re-encoding, span translation, match
objects) cost 4-20x the match itself. Text is matched as UTF-8 bytes; a value that is not
valid UTF-8 is matched with each invalid byte replaced (U+FFFD), as the entry holds it.

Cost (measured in docs/performance.md): a call is ~0.4 us against ~0.1 us for `re` on short
text, so a filter memoises its answers for short values (levels, status codes, paths
repeat), and patterns that are plain anchored literals (`^debug$`) never reach an engine.
"""

from __future__ import annotations

from typing import Any

import re2
from re2 import _re2

MAX_PATTERN_CHARS = 4096  # bounds compiling; RE2 also bounds the compiled program (max_mem)
_MEMO_TEXT = 256  # values up to this many characters have their filter answer memoised
_MEMO_SIZE = 4096  # answers kept per pattern before the memo starts again

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_ANCHOR_START = _re2.RE2.Anchor.ANCHOR_START
_NO_MATCH = (-1, -1)

# RE2's own words for what it refuses, and how to say it to an operator.
_UNSUPPORTED = (
    ("invalid perl operator: (?=", "lookahead \"(?=\" is not supported"),
    ("invalid perl operator: (?!", "negative lookahead \"(?!\" is not supported"),
    ("invalid perl operator: (?<=", "lookbehind \"(?<=\" is not supported"),
    ("invalid perl operator: (?<!", "negative lookbehind \"(?<!\" is not supported"),
    ("invalid perl operator: (?>", "atomic groups \"(?>\" are not supported"),
    ("bad repetition operator: ++", "possessive repetition \"++\" is not supported"),
    ("bad repetition operator: *+", "possessive repetition \"*+\" is not supported"),
    ("bad repetition operator: ?+", "possessive repetition \"?+\" is not supported"),
    ("invalid escape sequence: \\Z", "\"\\Z\" is not supported; write \"\\z\" for the end of the text"),
)
_LINEAR = "logproc runs patterns on RE2, in linear time"


class PatternError(ValueError):
    """An operator's pattern cannot be used; the message says why, for `logproc check`."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr itself
    return options


def _reason(error: str, pattern: str) -> str:
    if error.startswith("invalid perl operator: (?P") and "(?P=" in pattern:
        return f"backreferences \"(?P=name)\" are not supported ({_LINEAR})"
    for needle, said in _UNSUPPORTED:
        if error.startswith(needle):
            return f"{said} ({_LINEAR})"
    if error.startswith("invalid escape sequence: \\") and error[-1:].isdigit():
        return f"backreferences such as \"{error.rsplit(' ', 1)[-1]}\" are not supported ({_LINEAR})"
    if "pattern too large" in error:
        return "the pattern is too large once compiled; make it simpler"
    what, sep, where = error.partition(": ")
    return f'{what} in "{where}"' if sep and where else error


def _as_bytes(text: str) -> bytes:
    return text.encode("utf-8", "replace")  # lone surrogates (never from decoded input) → "?"


class Pattern:
    """One compiled operator pattern. Thread-safe (RE2 objects are); no state per call but
    the filter memo, a dict whose lost races only cost a repeated match."""

    __slots__ = ("_match", "_memo", "_sub_with", "_subs", "groupindex", "pattern")

    def __init__(self, pattern: str, *, multiline: bool = False) -> None:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise PatternError(f"regular expression too long: {len(pattern)} characters, "
                               f"limit {MAX_PATTERN_CHARS}")
        self.pattern = pattern
        compiled = _re2.RE2(_as_bytes("(?m)" + pattern if multiline else pattern), _options())
        if not compiled.ok():
            raise PatternError("invalid regular expression: "
                               + _reason(compiled.error().decode("utf-8", "replace"), pattern))
        self._match = compiled.Match
        self.groupindex: dict[str, int] = {  # in the pattern's order (RE2 lists them by name)
            name.decode("utf-8"): index
            for name, index in sorted(compiled.NamedCapturingGroups(), key=lambda item: item[1])
        }
        self._memo: dict[str, bool] = {}
        self._subs: dict[str, str] = {}
        self._sub_with: str | None = None

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"

    # -- searching text -------------------------------------------------------------------
    def found(self, text: str) -> bool:
        """Is the pattern found anywhere in `text`? (`re.search`; memoised for short text)"""
        if len(text) > _MEMO_TEXT:
            data = _as_bytes(text)
            found: bool = self._match(_UNANCHORED, data, 0, len(data))[0] != _NO_MATCH
            return found
        memo = self._memo
        hit = memo.get(text)
        if hit is None:
            data = _as_bytes(text)
            hit = self._match(_UNANCHORED, data, 0, len(data))[0] != _NO_MATCH
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[text] = hit
        return hit

    def groups(self, data: bytes) -> dict[str, str] | None:
        """The named groups of the first match in `data` (valid UTF-8), in the pattern's group
        order, without the groups that took no part; None when there is no match."""
        spans = self._match(_UNANCHORED, data, 0, len(data))
        if spans[0] == _NO_MATCH:
            return None
        out: dict[str, str] = {}
        for name, index in self.groupindex.items():
            start, end = spans[index]
            if start >= 0:
                out[name] = data[start:end].decode("utf-8", "replace")
        return out

    def sub(self, replacement: str, text: str) -> str:
        """`text` with every non-overlapping match replaced by `replacement` (taken literally);
        `text` itself, the same object, when nothing matched. Memoised for short text (one
        replacement per pattern is what redaction uses; another one bypasses the memo)."""
        if len(text) > _MEMO_TEXT or replacement is not self._sub_with:
            if self._sub_with is None:
                self._sub_with = replacement
            return self._sub(replacement, text)
        memo = self._subs
        out = memo.get(text)
        if out is None:
            out = self._sub(replacement, text)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[text] = out
        return text if out == text else out

    def _sub(self, replacement: str, text: str) -> str:
        data = _as_bytes(text)
        end = len(data)
        match = self._match
        spans = match(_UNANCHORED, data, 0, end)
        if spans[0] == _NO_MATCH:
            return text
        repl = _as_bytes(replacement)
        out: list[bytes] = []
        pos = 0
        while True:
            start, stop = spans[0]
            out.append(data[pos:start])
            out.append(repl)
            if stop == start:  # an empty match: keep one character and step past it
                if stop >= end:
                    pos = end
                    break
                nxt = _next_char(data, stop)
                out.append(data[stop:nxt])
                stop = nxt
            pos = stop
            spans = match(_UNANCHORED, data, pos, end)
            if spans[0] == _NO_MATCH:
                break
        out.append(data[pos:])
        return b"".join(out).decode("utf-8", "replace")

    # -- anchored, on raw lines -----------------------------------------------------------
    def starts(self, data: bytes, pos: int = 0, end: int = -1) -> bool:
        """Does a match begin exactly at `pos` of `data`, within `data[pos:end]`? (`^`
        matches there when the pattern was compiled `multiline`, as at any line start.)"""
        found: bool = self._match(_ANCHOR_START, data, pos, len(data) if end < 0 else end)[0] != _NO_MATCH
        return found


def _next_char(data: bytes, pos: int) -> int:
    """The offset after the UTF-8 character at `pos`."""
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def compile_pattern(pattern: str, *, multiline: bool = False) -> Pattern:
    """Compile an operator's pattern; `PatternError` (a ValueError) with a readable reason."""
    return Pattern(pattern, multiline=multiline)


def utf8(line: bytes) -> bytes:
    """`line` when it is valid UTF-8, else the same text with U+FFFD for each invalid byte."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("utf-8", "replace").encode("utf-8")
    return line
