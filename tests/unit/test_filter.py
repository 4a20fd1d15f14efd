"""Sink filters: min_level, include, exclude and their counts."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from logproc.transforms.filter import build_filter, compile_condition


def sink(**keys: Any) -> Any:
    """A stand-in for a sink config: only the attributes the filter reads."""
    return SimpleNamespace(**{"min_level": None, "include": {}, "exclude": {}, **keys})


def apply(entries: list[dict[str, Any]], **keys: Any) -> tuple[list[int], int, int]:
    keep = build_filter(sink(**keys))
    assert keep is not None
    return keep(entries)


LEVELS = [{"level": name, "message": name} for name in
          ("trace", "debug", "info", "notice", "warning", "error", "critical")]


class TestBuild:
    def test_nothing_configured(self) -> None:
        """No min_level, include or exclude: no filter."""
        assert build_filter(sink()) is None

    def test_trace_keeps_everything(self) -> None:
        """min_level = trace drops nothing, so it builds no filter."""
        assert build_filter(sink(min_level="trace")) is None

    def test_unknown_min_level(self) -> None:
        """An unknown min_level is refused."""
        with pytest.raises(ValueError, match="unknown min_level"):
            build_filter(sink(min_level="loud"))

    def test_invalid_regex(self) -> None:
        """An invalid include regex raises PatternError (a ValueError)."""
        with pytest.raises(ValueError, match='missing \\) in "\\("'):
            build_filter(sink(include={"message": "("}))


class TestMinLevel:
    @pytest.mark.parametrize(
        ("min_level", "kept"),
        [("debug", [1, 2, 3, 4, 5, 6]), ("info", [2, 3, 4, 5, 6]), ("warning", [4, 5, 6]),
         ("critical", [6])],
    )
    def test_below_is_dropped(self, min_level: str, kept: list[int]) -> None:
        """Entries below the level go; the level itself and above stay."""
        assert apply(LEVELS, min_level=min_level) == (kept, 7 - len(kept), 0)

    def test_alias_accepted(self) -> None:
        """min_level may be written as an alias."""
        assert apply(LEVELS, min_level="warn") == ([4, 5, 6], 4, 0)

    def test_no_or_unknown_level_passes(self) -> None:
        """No level, an unknown word, a number or a list: the entry passes."""
        entries: list[dict[str, Any]] = [{"message": "a"}, {"level": "verbose"}, {"level": 7},
                                         {"level": ["x"]}, {"level": None}, {"level": "debug"}]
        assert apply(entries, min_level="error") == ([0, 1, 2, 3, 4], 1, 0)


class TestInclude:
    def test_all_must_match(self) -> None:
        """Every include regex must be found."""
        entries = [{"message": "connection refused", "path": "/api"},
                   {"message": "connection refused", "path": "/health"},
                   {"message": "ok", "path": "/api"}]
        assert apply(entries, include={"message": "timeout|refused", "path": "^/api"}) == ([0], 0, 2)

    def test_missing_field_drops(self) -> None:
        """A missing field never matches, so the entry is dropped."""
        assert apply([{"message": "x"}, {"user": "bob"}], include={"user": "."}) == ([1], 0, 1)

    def test_non_string_values_use_str(self) -> None:
        """Numbers and bools are matched on their str()."""
        entries = [{"status": 503}, {"status": 200}, {"ok": True}]
        assert apply(entries, include={"status": "^5"}) == ([0], 0, 2)
        assert apply(entries, include={"ok": "^True$"}) == ([2], 0, 2)


class TestExclude:
    def test_any_match_drops(self) -> None:
        """One matching exclude regex is enough to drop."""
        entries = [{"level": "debug", "path": "/x"}, {"level": "info", "path": "/health"},
                   {"level": "info", "path": "/x"}]
        assert apply(entries, exclude={"level": "^debug$", "path": "^/health"}) == ([2], 0, 2)

    def test_missing_field_does_not_drop(self) -> None:
        """A missing field never matches, so it does not drop."""
        assert apply([{"message": "x"}, {"level": "debug"}], exclude={"level": "^debug$"}) == ([0], 0, 1)

    def test_anchored_literal_is_exact(self) -> None:
        """^debug$ matches debug (and debug + newline, as $ does), nothing longer or shorter."""
        entries = [{"level": v} for v in ("debug", "debugging", "xdebug", "debug\n", "DEBUG")]
        assert apply(entries, exclude={"level": "^debug$"}) == ([1, 2, 4], 0, 2)


class TestCombined:
    def test_counts_are_separate(self) -> None:
        """An entry dropped by min_level is not counted again by the filter."""
        entries = [{"level": "debug", "message": "timeout"}, {"level": "error", "message": "timeout"},
                   {"level": "error", "message": "ok"}, {"level": "error", "message": "timeout x"}]
        result = apply(entries, min_level="warning", include={"message": "timeout"},
                       exclude={"message": "x$"})
        assert result == ([1], 1, 2)


class TestCondition:
    @pytest.mark.parametrize(
        ("pattern", "text", "found"),
        [("^debug$", "debug", True), ("^debug$", "debug\n", True), ("^debug$", "debugs", False),
         ("^a.b$", "axb", True), ("^$", "", True), ("^$", "x", False), ("refused", "was refused!", True),
         ("^/health", "/healthz", True), ("^/health", "/x/health", False)],
    )
    def test_same_as_re_search(self, pattern: str, text: str, found: bool) -> None:
        """A condition is truthy exactly when re.search finds the pattern."""
        assert bool(compile_condition(pattern)(text)) is found
        assert (re.search(pattern, text) is not None) is found
