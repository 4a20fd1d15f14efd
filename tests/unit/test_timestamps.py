"""Timestamps: the canonical fast path, ISO 8601 / RFC 3339 text, epoch numbers, zones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from logproc.transforms.timestamps import format_epoch, parse_time, resolve_tz

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(name="tokyo_local")
def fixture_tokyo_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is Asia/Tokyo (UTC+9, no DST) for the test."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class TestCanonical:
    @pytest.mark.parametrize(
        "text", ["2024-05-01T00:00:03Z", "2024-05-01T00:00:03.123Z", "2024-05-01T23:59:59.123456Z"]
    )
    def test_returned_unchanged(self, text: str) -> None:
        """Canonical UTC text is returned as the same object, without datetime work."""
        assert parse_time(text, UTC) is text

    def test_zero_millis_kept_as_written(self) -> None:
        """The fast path does not rewrite `.000Z`: both spellings are valid RFC 3339."""
        assert parse_time("2024-05-01T00:00:00.000Z", UTC) == "2024-05-01T00:00:00.000Z"


class TestIsoText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00Z"),
            ("2024-05-01T10:00:00-07:30", "2024-05-01T17:30:00Z"),
            ("2024-05-01T00:00:00.000000+00:00", "2024-05-01T00:00:00Z"),
            ("2024-05-01T00:00:00.1Z", "2024-05-01T00:00:00.100Z"),
            ("2024-05-01T00:00:00.1234Z", "2024-05-01T00:00:00.123400Z"),
            ("2024-05-01T00:00:00.123456789Z", "2024-05-01T00:00:00.123456Z"),
            ("2024-05-01T00:00:00,5Z", "2024-05-01T00:00:00.500Z"),
            ("2024-05-01t00:00:00z", "2024-05-01T00:00:00Z"),
            ("2024-05-01 00:00:00Z", "2024-05-01T00:00:00Z"),
            ("20240501T000000Z", "2024-05-01T00:00:00Z"),
            ("  2024-05-01T00:00:00Z ", "2024-05-01T00:00:00Z"),
            ("2024-02-29T23:59:59.999+00:00", "2024-02-29T23:59:59.999Z"),
        ],
    )
    def test_with_zone(self, text: str, expected: str) -> None:
        """Text with a zone converts to UTC, whatever the source's zone."""
        assert parse_time(text, PARIS) == expected

    @pytest.mark.parametrize(
        ("text", "tz", "expected"),
        [
            ("2024-05-01 10:00:00", UTC, "2024-05-01T10:00:00Z"),
            ("2024-05-01T10:00:00", PARIS, "2024-05-01T08:00:00Z"),  # CEST, UTC+2
            ("2024-01-15 10:00:00.250", PARIS, "2024-01-15T09:00:00.250Z"),  # CET, UTC+1
            ("2024-05-01", UTC, "2024-05-01T00:00:00Z"),
        ],
    )
    def test_without_zone(self, text: str, tz: Any, expected: str) -> None:
        """Text without a zone is read in the source's zone."""
        assert parse_time(text, tz) == expected

    @pytest.mark.usefixtures("tokyo_local")
    def test_without_zone_in_local_time(self) -> None:
        """tz None reads the time in the machine's local zone."""
        assert parse_time("2024-05-01 09:00:00", None) == "2024-05-01T00:00:00Z"

    @pytest.mark.parametrize(
        "text", ["yesterday", "", "   ", "2024-13-01T00:00:00Z", "2024-05-01T25:00:00Z", "1e9", "-5"]
    )
    def test_not_a_time(self, text: str) -> None:
        """Text that is no time gives None (callers keep the read time)."""
        assert parse_time(text, UTC) is None


class TestEpoch:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (1714521600, "2024-05-01T00:00:00Z"),
            (1714521600.5, "2024-05-01T00:00:00.500Z"),
            (1714521600.123456, "2024-05-01T00:00:00.123456Z"),
            (1714521600123, "2024-05-01T00:00:00.123Z"),
            (1714521600123.25, "2024-05-01T00:00:00.123250Z"),
            (1714521600123456, "2024-05-01T00:00:00.123456Z"),
            (1714521600123456789, "2024-05-01T00:00:00.123456Z"),
            (100_000_000, "1973-03-03T09:46:40Z"),
        ],
    )
    def test_numbers(self, value: float, expected: str) -> None:
        """Seconds, milliseconds (> 1e11), microseconds (> 1e14), nanoseconds (> 1e17)."""
        assert parse_time(value, UTC) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1714521600", "2024-05-01T00:00:00Z"),
            ("1714521600.25", "2024-05-01T00:00:00.250Z"),
            ("1714521600123", "2024-05-01T00:00:00.123Z"),
        ],
    )
    def test_numeric_text(self, text: str, expected: str) -> None:
        """Numeric strings are epoch numbers too."""
        assert parse_time(text, UTC) == expected

    @pytest.mark.parametrize(
        "value", [0, 12, 0.53, 99_999_999, -1714521600, float("nan"), float("inf"), 10**30, True,
                  "12", None, [1714521600], {"t": 1}]
    )
    def test_refused(self, value: Any) -> None:
        """Small numbers (durations), negatives, non-finite, past year 9999, bools, others."""
        assert parse_time(value, UTC) is None


class TestFormatEpoch:
    @pytest.mark.parametrize(
        ("seconds", "expected"),
        [
            (1714521600, "2024-05-01T00:00:00Z"),
            (1714521600.25, "2024-05-01T00:00:00.250Z"),
            (1714521600.000001, "2024-05-01T00:00:00.000001Z"),
            (0, "1970-01-01T00:00:00Z"),
            (-1.5, "1969-12-31T23:59:58.500Z"),
            (951782400, "2000-02-29T00:00:00Z"),
            (253402300799, "9999-12-31T23:59:59Z"),
        ],
    )
    def test_shapes(self, seconds: float, expected: str) -> None:
        """No fraction, whole milliseconds, or microseconds; calendar edges."""
        assert format_epoch(seconds) == expected

    def test_same_second_twice(self) -> None:
        """The one-second cache gives the right fraction for each call."""
        assert format_epoch(1714521600.1) == "2024-05-01T00:00:00.100Z"
        assert format_epoch(1714521600.2) == "2024-05-01T00:00:00.200Z"


class TestResolveTz:
    def test_names(self) -> None:
        """"local" is None (the C library's zone), "UTC" is UTC, else an IANA zone."""
        assert resolve_tz("local") is None
        assert resolve_tz("UTC") is UTC
        assert resolve_tz("Europe/Paris") == PARIS

    def test_unknown(self) -> None:
        """An unknown zone raises."""
        with pytest.raises(ZoneInfoNotFoundError):
            resolve_tz("Mars/Olympus_Mons")
