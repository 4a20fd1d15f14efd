"""Level normalisation: names, aliases, syslog severities and pino/bunyan numbers."""

from __future__ import annotations

from typing import Any

import pytest

from logproc.transforms.levels import CANONICAL_LEVELS, LEVEL_NAMES, LEVEL_RANK, normalize_level

ALIASES = [
    ("trace", "trace"), ("trc", "trace"),
    ("debug", "debug"), ("dbg", "debug"),
    ("info", "info"), ("information", "info"), ("informational", "info"),
    ("notice", "notice"),
    ("warning", "warning"), ("warn", "warning"),
    ("error", "error"), ("err", "error"),
    ("critical", "critical"), ("crit", "critical"), ("fatal", "critical"), ("alert", "critical"),
    ("emerg", "critical"), ("emergency", "critical"), ("panic", "critical"),
]  # fmt: skip

SYSLOG = [(0, "critical"), (1, "critical"), (2, "critical"), (3, "error"), (4, "warning"),
          (5, "notice"), (6, "info"), (7, "debug")]
PINO = [(10, "trace"), (20, "debug"), (30, "info"), (40, "warning"), (50, "error"), (60, "critical")]


class TestNames:
    @pytest.mark.parametrize(("alias", "canonical"), ALIASES)
    def test_lower_case(self, alias: str, canonical: str) -> None:
        """Each alias maps to its canonical level."""
        assert normalize_level(alias) == canonical

    @pytest.mark.parametrize(("alias", "canonical"), ALIASES)
    def test_upper_case(self, alias: str, canonical: str) -> None:
        """Upper-case spellings map too (and are in the one-lookup table)."""
        assert normalize_level(alias.upper()) == canonical
        assert LEVEL_NAMES[alias.upper()] == canonical

    @pytest.mark.parametrize(("alias", "canonical"), ALIASES)
    def test_mixed_case(self, alias: str, canonical: str) -> None:
        """Any case matches, not only the three spellings in the table."""
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(alias))
        assert normalize_level(mixed) == canonical

    def test_blanks_around_are_ignored(self) -> None:
        """Surrounding blanks do not hide a level."""
        assert normalize_level(" Warn\t") == "warning"


class TestNumbers:
    @pytest.mark.parametrize(("number", "canonical"), SYSLOG + PINO)
    def test_int(self, number: int, canonical: str) -> None:
        """Syslog severities and pino/bunyan levels as JSON numbers."""
        assert normalize_level(number) == canonical

    @pytest.mark.parametrize(("number", "canonical"), SYSLOG + PINO)
    def test_numeric_string(self, number: int, canonical: str) -> None:
        """The same numbers written as text (logfmt, regex groups)."""
        assert normalize_level(str(number)) == canonical
        assert LEVEL_NAMES[str(number)] == canonical

    def test_integral_float(self) -> None:
        """30.0 is pino's 30."""
        assert normalize_level(30.0) == "info"

    def test_numeric_string_with_blanks(self) -> None:
        """Blanks around a numeric string are ignored."""
        assert normalize_level(" 50 ") == "error"


class TestKeptAsWritten:
    @pytest.mark.parametrize(
        "value", ["verbose", "SEVERE", "", "8", 8, 35, 30.5, True, False, ["info"], {"a": 1}]
    )
    def test_unknown(self, value: Any) -> None:
        """A value naming no level comes back unchanged (bools are not severities 1 and 0)."""
        assert normalize_level(value) is value

    def test_none_stays_none(self) -> None:
        """None means no level."""
        assert normalize_level(None) is None

    def test_unicode_digit_is_not_a_number(self) -> None:
        """A superscript digit is not parsed as a number (and does not raise)."""
        assert normalize_level("²") == "²"


class TestRank:
    def test_order(self) -> None:
        """trace < debug < info < notice < warning < error < critical."""
        assert sorted(LEVEL_RANK, key=LEVEL_RANK.__getitem__) == list(CANONICAL_LEVELS)
        assert list(CANONICAL_LEVELS) == [
            "trace", "debug", "info", "notice", "warning", "error", "critical"
        ]
        assert LEVEL_RANK["trace"] == 0
        assert LEVEL_RANK["critical"] == 6
