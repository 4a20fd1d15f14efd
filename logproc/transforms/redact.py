"""``redact``: replace sensitive text in every string value of an entry with ``[REDACTED]``.

Built-in names (only the sensitive part is replaced):

- ``email``: an address ``local@domain.tld``;
- ``credit_card``: a run of 13-19 digits, single spaces or dashes allowed between digits,
  not touching another digit, replaced only when it passes the Luhn check (a failing run is
  left alone, even when a shorter part of it would pass);
- ``bearer_token``: ``Bearer <token>`` → ``Bearer [REDACTED]``; the word is matched in any
  case, but the quick pre-check looks for ``earer`` or ``EARER``, so a spelling that mixes
  cases inside those five letters (``BeArEr``) is not recognised;
- ``ipv4``: a valid dotted quad (octets 0-255, no leading zeros), not part of a longer
  dotted number such as a version ``1.2.3.4.5``.

Any other string is a regex whose whole match becomes ``[REDACTED]``. The built-ins run in
the configured order, then the regexes. Only top-level string values are scanned
(``timestamp`` and the metadata included): keys, numbers, bools and nested objects/arrays
(from JSON) are left as they are.

Speed: a value shorter than the shortest possible match is skipped outright, and each
built-in has a cheap pre-check (``@`` for email, three dots for ipv4, ``earer`` for bearer, 13
digits for credit_card) so a value that cannot match costs a substring count, not a regex
scan. User regexes have no pre-check; they run on RE2 (linear in the value's length, see
:mod:`logproc.patterns`), compiled into one alternation.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from logproc.patterns import PatternError, compile_pattern
from logproc.transforms.base import Entry, Transform

REDACTED = "[REDACTED]"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DIGITS = b"0123456789"

# Pre-check kinds: what a value must contain before the rule's regex is worth running.
_ANY, _COUNT, _BEARER, _CARD_DIGITS = 0, 1, 2, 3

_Repl = str | Callable[[re.Match[str]], str]
# (regex.sub, replacement, pre-check kind, pre-check text, minimum count, shortest match)
_Rule = tuple[Callable[[Any, str], str], _Repl, int, str, int, int]


def luhn_valid(digits: str) -> bool:
    """True when the decimal ``digits`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position & 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _redact_card(match: re.Match[str]) -> str:
    text = match.group()
    return REDACTED if luhn_valid(text.replace(" ", "").replace("-", "")) else text


_BUILTINS: dict[str, _Rule] = {
    "email": (
        re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                   r"\.[A-Za-z]{2,}").sub,
        REDACTED, _COUNT, "@", 1, 6,
    ),
    "credit_card": (
        re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])").sub,
        _redact_card, _CARD_DIGITS, "", 13, 13,
    ),
    "bearer_token": (
        re.compile(r"\b((?i:bearer)\s+)[A-Za-z0-9\-._~+/]+=*").sub,
        r"\1" + REDACTED, _BEARER, "", 1, 8,
    ),
    "ipv4": (
        re.compile(rf"(?<![0-9.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?[0-9])").sub,
        REDACTED, _COUNT, ".", 3, 7,
    ),
}
BUILTIN_NAMES = frozenset(_BUILTINS)


def _user_rules(patterns: list[str]) -> list[_Rule]:
    """Compile user regexes (RE2, :mod:`logproc.patterns`), combined into one alternation."""
    compiled = [compile_pattern(p) for p in patterns]  # raises PatternError, naming the bad one
    for pattern, regex in zip(patterns, compiled, strict=True):
        if regex.starts(b""):
            raise ValueError(f"redact pattern {pattern!r} matches the empty string")
    if len(patterns) > 1:
        # RE2 has no backreferences and scopes inline flags to their group, so the
        # alternation means what the patterns meant one by one; kept apart if it is too big.
        with contextlib.suppress(PatternError):
            compiled = [compile_pattern("|".join(f"(?:{p})" for p in patterns))]
    return [(regex.sub, REDACTED, _ANY, "", 0, 1) for regex in compiled]


def build_scrub(names: list[str]) -> Callable[[str], str] | None:
    """The text-level redactor for the ``redact`` list, or None when it is empty.

    The redactor returns its argument itself when nothing matched. Raises ``PatternError``
    (a ValueError) for an invalid regex, ``ValueError`` for one that matches "".
    """
    if not names:
        return None
    rules = [_BUILTINS[name] for name in names if name in _BUILTINS]
    users = [name for name in names if name not in _BUILTINS]
    if users:
        rules.extend(_user_rules(users))
    shortest = min(rule[5] for rule in rules)
    translate = bytes.translate

    def scrub(text: str) -> str:
        if len(text) < shortest:
            return text
        for sub, repl, kind, needle, count, _ in rules:
            if kind == _COUNT:
                if text.count(needle) < count:
                    continue
            elif kind == _BEARER:
                if "earer" not in text and "EARER" not in text:
                    continue
            elif kind == _CARD_DIGITS:
                if len(text) < 13:
                    continue
                raw = text.encode("utf-8", "surrogatepass")
                if len(raw) - len(translate(raw, None, _DIGITS)) < 13:
                    continue
            text = sub(repl, text)
        return text

    return scrub


def build_redact(names: list[str]) -> Transform | None:
    """The redact transform (every string value of every entry), or None when not configured."""
    scrub = build_scrub(names)
    if scrub is None:
        return None

    def redact(entries: list[Entry]) -> None:
        for entry in entries:
            for key, value in entry.items():
                if value.__class__ is str:
                    new = scrub(value)
                    if new is not value:  # re's sub returns its argument when nothing matched
                        entry[key] = new  # a value change, not a new key: iteration stays valid

    return redact
