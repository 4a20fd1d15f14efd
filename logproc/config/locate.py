"""Which line of a TOML text a key path is on (tomllib gives no positions).

Contract:
- `locate(text, path)` returns the 1-based line of `path` (keys as strings, list indexes
  as ints: `("sources", "app", "paths", 0)`), or of the longest prefix of it that the text
  names (a missing key gives its table's header line), or None when not even the first
  key is there. It never raises, whatever the text.
- `KeyLines(text)` indexes a text once for many look-ups (one config, many problems).
- It understands what a config uses: `[a.b]` / `[a."b c"]` / `[[a]]` headers, bare, quoted
  and dotted keys, inline tables, arrays (each element's line, also across lines), and
  skips comments and the inside of strings, multi-line ones included.
- A key named on several lines is found where it is defined (a header or `key =`); a
  table only implied by a longer name (`[a.b]` implies `a`) is found where first implied.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence

Path = tuple[str | int, ...]

_TOKENS = re.compile(
    r'''(?P<nl>\n)|(?P<skip>[ \t\r]+|\#[^\n]*)
      |(?P<str>"""(?:\\[\s\S]|[^\\])*?""""{0,2}|\'\'\'[\s\S]*?\'\'\'\'{0,2}
              |"(?:\\.|[^"\\\n])*"|'[^'\n]*')
      |(?P<punct>[\[\]{}=,])|(?P<bare>[^\s\[\]{}=,\#"']+)|(?P<other>.)''',
    re.VERBOSE,
)


class _Token:
    __slots__ = ("kind", "line", "text")

    def __init__(self, kind: str, text: str, line: int) -> None:
        self.kind, self.text, self.line = kind, text, line


def _tokenize(text: str) -> list[_Token]:
    out, line = [], 1
    for m in _TOKENS.finditer(text):
        kind = m.lastgroup or "other"
        if kind != "skip":
            out.append(_Token(kind, m.group(), line))
        line += m.group().count("\n")
    out.append(_Token("end", "", line))
    return out


def _key_part(tok: _Token) -> list[str]:
    """The key segments one token contributes: `a.b` -> a, b; `"a.b"` -> a.b."""
    if tok.kind == "bare":
        return [p for p in tok.text.split(".") if p]
    if tok.text.startswith("'"):
        return [tok.text[1:-1]]
    if "\\" not in tok.text:
        return [tok.text[1:-1]]
    try:  # let tomllib decode escapes exactly as it did when it parsed the file
        return [str(tomllib.loads(f"k = {tok.text}")["k"])]
    except tomllib.TOMLDecodeError:
        return [tok.text[1:-1]]


class KeyLines:
    """Every key path a TOML text defines, with its line."""

    def __init__(self, text: str) -> None:
        self._defined: dict[Path, int] = {}
        self._implied: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}  # [[a]] tables seen so far, by path
        self._toks = _tokenize(text)
        self._i = 0  # every step advances or stops at the final "end" token: no loop can hang
        self._document()

    def line(self, path: Sequence[str | int]) -> int | None:
        for n in range(len(path), 0, -1):
            found = self._defined.get(tuple(path[:n])) or self._implied.get(tuple(path[:n]))
            if found:
                return found
        return None

    def _note(self, path: Path, line: int) -> None:
        self._defined.setdefault(path, line)
        for n in range(1, len(path)):
            self._implied.setdefault(path[:n], line)

    def _peek(self) -> _Token:
        return self._toks[self._i]

    def _document(self) -> None:
        table: Path = ()
        while self._peek().kind != "end":
            tok = self._peek()
            if tok.text == "[":
                table = self._header()
            elif tok.kind in ("bare", "str"):
                self._pair(table)
            while self._peek().kind not in ("nl", "end"):  # rest of the line: junk or a comment
                self._i += 1
            if self._peek().kind == "nl":
                self._i += 1

    def _header(self) -> Path:
        tok = self._toks[self._i]
        self._i += 1
        array = self._peek().text == "["
        self._i += array
        keys = self._keys("]")
        path: Path = ()
        for n, key in enumerate(keys):  # a header inside [[a]] is relative to a's last element
            path = (*path, key)
            if path in self._arrays and not (array and n == len(keys) - 1):
                path = (*path, self._arrays[path] - 1)
        if array:
            self._arrays[path] = self._arrays.get(path, 0) + 1
            path = (*path, self._arrays[path] - 1)
        self._note(path, tok.line)
        return path

    def _keys(self, stop: str) -> list[str]:
        keys: list[str] = []
        while self._peek().text != stop and self._peek().kind in ("bare", "str"):
            keys += _key_part(self._peek())
            self._i += 1
        if self._peek().text == stop:
            self._i += 1
        return keys

    def _pair(self, table: Path) -> None:
        line = self._peek().line
        path = (*table, *self._keys("="))
        self._note(path, line)
        self._value(path)

    def _value(self, path: Path) -> None:
        tok = self._peek()
        if tok.kind in ("nl", "end"):  # no value where one belongs (only in a broken text)
            return
        self._i += 1
        if tok.text == "[":
            self._items(path, "]", indexed=True)
        elif tok.text == "{":
            self._items(path, "}", indexed=False)

    def _items(self, path: Path, close: str, *, indexed: bool) -> None:
        """The inside of an array (indexed values) or of an inline table (key = value pairs)."""
        index = 0
        while True:
            while self._peek().kind == "nl":
                self._i += 1
            tok = self._peek()
            if tok.text == close or tok.kind == "end":
                self._i += tok.kind != "end"
                return
            if tok.text == ",":
                self._i += 1
                index += 1
                continue
            if indexed:
                self._note((*path, index), tok.line)
                self._value((*path, index))
            elif tok.kind in ("bare", "str"):
                self._pair(path)
            else:
                self._i += 1


def locate(text: str, path: Sequence[str | int]) -> int | None:
    """The line of `path` in `text`, or of its longest prefix found; None when none is."""
    return KeyLines(text).line(path)
