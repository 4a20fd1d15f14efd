"""``parser = "logfmt"``: ``key=value`` pairs separated by blanks (Go's logfmt, logrus, Heroku).

Grammar, lenient on purpose (a log line is never refused for one odd token):

- tokens are separated by whitespace, except inside double quotes;
- ``key=value``: the key is everything before the first ``=``; an empty key drops the token;
- ``"key"=value``: a token starting with a non-empty quoted run directly followed by ``=``
  has that run as its key, unescaped like a value (``"a=b"=c`` is ``a=b`` → ``c``, ``"a
  b"=1`` is ``a b`` → ``1``). Any other token starting with ``"`` is read by the rule
  above, quote included (``"unterminated=1`` is ``"unterminated`` → ``1``; ``"k"`` is a
  bare key ``"k"``);
- ``key=`` gives the empty string; a bare ``key`` (no ``=``) gives ``True``;
- a value starting with ``"`` is quoted: ``\\"``, ``\\\\`` and the JSON escapes (``\\n``,
  ``\\t``, ``\\uXXXX``, …, as the logfmt format writes them) are unescaped, other
  backslashes are kept; an unterminated quote runs to the end of the line; text after a
  closing quote keeps the value as written;
- values stay strings (no number guessing); a duplicate key: the last value wins, at the
  position of the first.

A line with no ``key=value`` pair at all (plain text, bare words only) is a bad line.

Speed: a line without quotes is cut by ``str.split()``; one whose quotes are all real by
``str.split('"')``; only a line with an escaped quote goes through the tokenizer regex.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from logproc.transforms.base import Entry, Parser, decode
from logproc.transforms.structured import build_structured

# A token: non-blank characters, where a quoted run may hold blanks and escaped quotes.
# (Loop unrolled so that runs of plain characters are one step for the engine.)
_TOKENS = re.compile(r'(?:[^\s"]+|"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?$))+', re.DOTALL).findall
# A quoted key and its "=". Go's go-logfmt refuses a line with one (`unexpected '"'`) and
# kr/logfmt skips the quote as garbage, which would lose or split the pair; Vector's
# parse_logfmt reads it ("Keys and values can be wrapped using the `"` character"), as here.
# Not a quoted key (unterminated, empty, or not followed by "="): the token is read as before,
# so nothing is lost and no key is made up from part of one.
_QUOTED_KEY = re.compile(r'"((?:[^"\\]|\\.)+)"=', re.DOTALL).match
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)("?)', re.DOTALL).match
_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

NO_PAIRS = "no key=value pairs"


def parse_logfmt(text: str) -> dict[str, Any]:
    """The pairs of one logfmt line, in order. Raises ``ValueError`` when there are none."""
    # Three tokenizers, cheapest first; all three cut the same tokens. ``keyed``: a token may
    # start with a quote (a quoted key), so that other lines skip that check per token.
    if '"' not in text:
        tokens, keyed = text.split(), False
    elif '\\"' not in text:
        tokens, keyed = _split_quoted(text)
    else:  # escaped quotes: the regex knows where a quote really ends
        tokens, keyed = _TOKENS(text), True
    fields: dict[str, Any] = {}
    pairs = 0
    for token in tokens:
        key, eq, value = token.partition("=")
        if not key:
            continue
        if keyed and key[0] == '"':
            match = _QUOTED_KEY(token)
            if match is not None:  # "key"=value
                key, value = match.group(1), token[match.end():]
                if "\\" in key:
                    key = _ESCAPE.sub(_unescape, key)
        if not eq:
            fields[key] = True
            continue
        pairs += 1
        if value[:1] == '"':
            if value[-1] == '"' and value.count('"') == 2 and len(value) > 1:
                value = value[1:-1]  # the usual "..." with no quote inside
                if "\\" in value:
                    value = _ESCAPE.sub(_unescape, value)
            else:
                value = _unquote(value)
        fields[key] = value
    if not pairs:
        raise ValueError(NO_PAIRS)
    return fields


def _split_quoted(text: str) -> tuple[list[str], bool]:
    """Tokens of a line whose quotes are all real (none escaped): ``text.split('"')`` puts the
    quoted runs at odd indexes; blanks outside them cut tokens, blanks inside do not. And
    whether a token starts with a quoted run."""
    segments = text.split('"')
    last = len(segments) - 1
    tokens: list[str] = []
    pending: str | None = None  # the token that runs into or out of a quoted run
    keyed = False
    for index, segment in enumerate(segments):
        if index & 1:
            quoted = '"' + segment + '"' if index < last else '"' + segment  # unterminated
            if pending is None:  # the quoted run starts a token
                pending, keyed = quoted, True
            else:
                pending += quoted
            continue
        if not segment:
            continue
        words = segment.split()
        if segment[0].isspace() or not words:
            if pending is not None:
                tokens.append(pending)
                pending = None
        elif pending is not None:
            words[0] = pending + words[0]
            pending = None
        if words and not segment[-1].isspace():
            pending = words.pop()
        tokens.extend(words)
    if pending is not None:
        tokens.append(pending)
    return tokens, keyed


def _unquote(value: str) -> str:
    match = _QUOTED(value)  # always matches: value starts with '"'
    inner = match.group(1) if match is not None else value[1:]
    if match is not None and match.end() != len(value):
        if match.group(2):  # text after the closing quote: keep the value as written
            return value
        inner = value[1:]  # unterminated, ending in a lone backslash
    return _ESCAPE.sub(_unescape, inner) if "\\" in inner else inner


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    return _ESCAPES[code] if len(code) == 1 else chr(int(code[1:], 16))


def _fields(line: bytes) -> dict[str, Any]:
    return parse_logfmt(decode(line))


def _explain(line: bytes) -> Entry | str:
    try:
        return parse_logfmt(decode(line))
    except ValueError as exc:
        return str(exc)


def build_logfmt_parser(name: str, host: str, tz: tzinfo | None) -> Parser:
    """The logfmt parser of source ``name``; ``tz`` reads times written without a zone."""
    return build_structured(name, host, tz, _fields, _explain)
