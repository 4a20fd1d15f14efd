"""Level normalisation: many spellings in, seven canonical names out.

Canonical levels, lowest first: ``trace debug info notice warning error critical``.

Accepted, case-insensitively and with surrounding blanks ignored:

- the canonical names and the aliases ``warn``; ``err``; ``fatal``, ``crit``, ``alert``,
  ``emerg``, ``emergency``, ``panic``; ``information``, ``informational``; ``dbg``; ``trc``;
- syslog severities 0-7 (0, 1, 2 → critical, 3 → error, 4 → warning, 5 → notice, 6 → info,
  7 → debug);
- pino/bunyan numbers 10, 20, 30, 40, 50, 60 (trace … critical);

numbers as ints, integral floats or numeric strings. Anything else — an unknown word, another
number, a bool, a list — is kept exactly as written (such a level passes ``min_level``).

Hot path: callers do ``LEVEL_NAMES.get(value)`` themselves when ``value`` is a ``str``
(the table already holds the lower, upper and capitalised spellings, so ``"info"``,
``"INFO"`` and ``"Info"`` hit in one lookup) and call :func:`normalize_level` only on a miss
or for non-strings.
"""

from __future__ import annotations

from typing import Any

#: Canonical levels in rank order; ``LEVEL_RANK[name]`` is the position (trace = 0).
CANONICAL_LEVELS = ("trace", "debug", "info", "notice", "warning", "error", "critical")
LEVEL_RANK: dict[str, int] = {name: rank for rank, name in enumerate(CANONICAL_LEVELS)}

_ALIASES = {
    "trace": "trace", "trc": "trace",
    "debug": "debug", "dbg": "debug",
    "info": "info", "information": "info", "informational": "info",
    "notice": "notice",
    "warning": "warning", "warn": "warning",
    "error": "error", "err": "error",
    "critical": "critical", "crit": "critical", "fatal": "critical", "alert": "critical",
    "emerg": "critical", "emergency": "critical", "panic": "critical",
}  # fmt: skip

# Syslog severities (RFC 5424 §6.2.1) and pino/bunyan numeric levels do not overlap.
LEVEL_NUMBERS: dict[int, str] = {
    0: "critical", 1: "critical", 2: "critical", 3: "error", 4: "warning", 5: "notice",
    6: "info", 7: "debug",
    10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical",
}  # fmt: skip

#: Exact-spelling table for the hot path: lower, UPPER and Capitalised names, numeric strings.
LEVEL_NAMES: dict[str, str] = {}
for _alias, _name in _ALIASES.items():
    for _spelling in (_alias, _alias.upper(), _alias.capitalize()):
        LEVEL_NAMES[_spelling] = _name
for _number, _name in LEVEL_NUMBERS.items():
    LEVEL_NAMES[str(_number)] = _name
del _alias, _name, _spelling, _number


def normalize_level(value: Any) -> Any:
    """The canonical name for ``value``, or ``value`` itself when it names no known level.

    ``None`` stays ``None`` (callers treat it as "no level").
    """
    cls = value.__class__
    if cls is str:
        found = LEVEL_NAMES.get(value)
        if found is None:
            found = _ALIASES.get(value.strip().lower())
            if found is None and value.strip().isdecimal():
                found = LEVEL_NUMBERS.get(int(value.strip()))
        return value if found is None else found
    # bool is an int subclass but True/False are not levels: compare the exact class.
    if cls is int:
        return LEVEL_NUMBERS.get(value, value)
    if cls is float and value.is_integer():
        return LEVEL_NUMBERS.get(int(value), value)
    return value
