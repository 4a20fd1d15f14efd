"""``redact``: replace sensitive text in every string value of an entry with ``[REDACTED]``.

Built-in names (only the sensitive part is replaced):

- ``email``: an address ``local@domain.tld``;
- ``credit_card``: a run of 13-19 digits, single spaces or dashes allowed between digits,
  not touching another digit, replaced only when it passes the Luhn check (a failing run is
  left alone, even when a shorter part of it would pass);
- ``bearer_token``: ``Bearer <token>`` (``bearer`` in any case) → ``Bearer [REDACTED]``;
- ``ipv4``: a valid dotted quad (octets 0-255, no leading zeros), not part of a longer
  dotted number such as a version ``1.2.3.4.5``.

Any other string is a regex whose whole match becomes ``[REDACTED]``. Rules run in the
configured order. Only top-level string values are scanned: keys, numbers, bools and nested
objects/arrays (from JSON) are left as they are.

Speed: each built-in has a cheap gate (``@`` for email, three dots for ipv4, ``bearer`` in the
lower-cased text) so that a value that cannot match costs a substring count, not a regex
scan; ``credit_card`` and user regexes have no gate. User regexes are compiled into one
alternation when they can be combined (no backreferences, no global inline flags).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

from logproc.transforms.base import Entry, Transform

REDACTED = "[REDACTED]"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")

# name -> (pattern, gate text, minimum count of the gate text, gate on lower-cased text)
_BUILTINS: dict[str, tuple[re.Pattern[str], str | None, int, bool]] = {
    "email": (
        re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                   r"\.[A-Za-z]{2,}"),
        "@", 1, False,
    ),
    "credit_card": (_CARD, None, 0, False),
    "bearer_token": (
        re.compile(r"\b((?i:bearer)\s+)[A-Za-z0-9\-._~+/]+=*"), "bearer", 1, True,
    ),
    "ipv4": (re.compile(rf"(?<![0-9.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?[0-9])"), ".", 3, False),
}
BUILTIN_NAMES = frozenset(_BUILTINS)

_Repl = str | Callable[[re.Match[str]], str]
_Rule = tuple[Callable[[_Repl, str], str], _Repl, str | None, int, bool]


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


def _user_rules(patterns: list[str]) -> list[_Rule]:
    """Compile user regexes, combined into one when that keeps their meaning."""
    compiled = [re.compile(p) for p in patterns]  # raises re.error, naming the bad one
    for pattern, regex in zip(patterns, compiled, strict=True):
        if regex.match("") is not None:
            raise ValueError(f"redact pattern {pattern!r} matches the empty string")
    # Backreferences would point at other groups once the patterns are combined.
    separate = len(patterns) == 1 or any(re.search(r"\\[1-9]|\(\?P=", p) for p in patterns)
    if not separate:
        # Kept apart when combining fails: global inline flags are refused mid-pattern.
        with contextlib.suppress(re.error):
            compiled = [re.compile("|".join(f"(?:{p})" for p in patterns))]
    return [(regex.sub, REDACTED, None, 0, False) for regex in compiled]


def build_scrub(names: list[str]) -> Callable[[str], str] | None:
    """The text-level redactor for the ``redact`` list, or None when it is empty.

    Raises ``re.error`` for an invalid regex, ``ValueError`` for one that matches "".
    """
    if not names:
        return None
    rules: list[_Rule] = []
    users: list[str] = []
    for name in names:
        if name in _BUILTINS:
            regex, gate, count, fold = _BUILTINS[name]
            repl: _Repl = REDACTED
            if name == "credit_card":
                repl = _redact_card
            elif name == "bearer_token":
                repl = r"\1" + REDACTED
            rules.append((regex.sub, repl, gate, count, fold))
        else:
            users.append(name)
    if users:
        rules.extend(_user_rules(users))
    return _make_scrub(rules)


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


def _make_scrub(rules: list[_Rule]) -> Callable[[str], str]:
    def scrub(text: str) -> str:
        lowered: str | None = None
        for sub, repl, gate, count, fold in rules:
            if gate is not None:
                if fold:
                    if lowered is None:
                        lowered = text.lower()
                    if lowered.count(gate) < count:
                        continue
                elif text.count(gate) < count:
                    continue
            text = sub(repl, text)
            lowered = None
        return text

    return scrub
