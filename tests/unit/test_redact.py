"""Redaction: the four built-ins, user regexes, and the transform over entries."""

from __future__ import annotations

from typing import Any

import pytest

from logproc.transforms.redact import build_redact, build_scrub, luhn_valid


def scrub(names: list[str], text: str) -> str:
    scrubber = build_scrub(names)
    assert scrubber is not None
    return scrubber(text)


class TestEmail:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("contact bob.smith+tag@mail.example.co.uk now", "contact [REDACTED] now"),
            ("a@b.io,c@d.org", "[REDACTED],[REDACTED]"),
            ("<alice_99@example.com>", "<[REDACTED]>"),
        ],
    )
    def test_redacted(self, text: str, expected: str) -> None:
        """The address, and only the address, is replaced."""
        assert scrub(["email"], text) == expected

    @pytest.mark.parametrize("text", ["user@localhost", "@handle", "no at sign", "a@b.c"])
    def test_not_an_address(self, text: str) -> None:
        """No dot-TLD after @ (or a one-letter TLD): left alone."""
        assert scrub(["email"], text) == text


class TestCreditCard:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("card 4111 1111 1111 1111 ok", "card [REDACTED] ok"),
            ("card=4111-1111-1111-1111;", "card=[REDACTED];"),
            ("4111111111111111", "[REDACTED]"),
            ("visa 4222222222222.", "visa [REDACTED]."),
            ("amex 378282246310005", "amex [REDACTED]"),
            ("4111 1111 1111 1111 2024", "[REDACTED] 2024"),
        ],
    )
    def test_luhn_pass_is_redacted(self, text: str, expected: str) -> None:
        """13-19 digits with blanks or dashes that pass Luhn are replaced."""
        assert scrub(["credit_card"], text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "card 4111 1111 1111 1112",  # fails Luhn
            "order 41111111111111111111 shipped",  # 20 digits: no card
            "id 411111111111",  # 12 digits
            "4111  1111 1111 1111",  # two blanks in a row split the run
        ],
    )
    def test_left_alone(self, text: str) -> None:
        """Luhn failures, runs too long or too short, and broken runs are kept."""
        assert scrub(["credit_card"], text) == text

    @pytest.mark.parametrize(
        ("digits", "valid"),
        [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True),
         ("79927398710", False), ("0", True)],
    )
    def test_luhn(self, digits: str, valid: bool) -> None:
        """The Luhn check on known numbers."""
        assert luhn_valid(digits) is valid


class TestBearer:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_DEF=",
             "Authorization: Bearer [REDACTED]"),
            ("bearer abc.def", "bearer [REDACTED]"),
            ("BEARER  xyz rest", "BEARER  [REDACTED] rest"),
            ("bEARER tok", "bEARER [REDACTED]"),
        ],
    )
    def test_token_replaced(self, text: str, expected: str) -> None:
        """The token after `Bearer` (any case) is replaced; the word stays."""
        assert scrub(["bearer_token"], text) == expected

    @pytest.mark.parametrize("text", ["bearertoken", "Bearer", "the cheerful bearer"])
    def test_left_alone(self, text: str) -> None:
        """No token after the word: nothing to replace."""
        assert scrub(["bearer_token"], text) == text


class TestIpv4:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("from 10.0.0.1.", "from [REDACTED]."),
            ("client=192.168.1.254,", "client=[REDACTED],"),
            ("1.2.3.4:8080", "[REDACTED]:8080"),
            ("255.255.255.255 0.0.0.0", "[REDACTED] [REDACTED]"),
        ],
    )
    def test_valid_quads(self, text: str, expected: str) -> None:
        """Valid dotted quads are replaced."""
        assert scrub(["ipv4"], text) == expected

    @pytest.mark.parametrize(
        "text", ["256.1.1.1", "version 1.2.3.4.5", "010.1.1.1", "1.2.3", "2024.05.01"]
    )
    def test_not_an_address(self, text: str) -> None:
        """Out-of-range octets, longer dotted numbers, leading zeros, short forms."""
        assert scrub(["ipv4"], text) == text


class TestUserRegex:
    def test_whole_match_replaced(self) -> None:
        """A user regex replaces its whole match."""
        assert scrub([r"secret=\S+"], "ok secret=hunter2 done") == "ok [REDACTED] done"

    def test_combined(self) -> None:
        """Several user regexes (groups allowed) all apply."""
        names = [r"secret=\S+", r"pass(word)?=\S+"]
        assert scrub(names, "secret=a password=b pass=c") == "[REDACTED] [REDACTED] [REDACTED]"

    def test_global_flags_kept_apart(self) -> None:
        """A pattern with a global inline flag cannot be combined, and still works."""
        names = [r"(?i)apikey=\w+", r"x=\d+"]
        assert scrub(names, "APIKEY=abc x=12") == "[REDACTED] [REDACTED]"

    def test_backreference_refused(self) -> None:
        """Backreferences have no linear-time meaning: refused with the reason."""
        with pytest.raises(ValueError, match=r'backreferences such as "\\1" are not supported'):
            build_scrub([r"(\w)\1{3,}", "foo"])

    def test_combined_patterns_keep_their_own_flags(self) -> None:
        """Patterns are combined into one alternation; an inline flag stays in its pattern."""
        assert scrub([r"(?i)secret=\S+", "foo"], "SECRET=x FOO foo") == "[REDACTED] FOO [REDACTED]"

    def test_empty_match_refused(self) -> None:
        """A regex that matches the empty string would redact between every character."""
        with pytest.raises(ValueError, match="empty string"):
            build_scrub(["x*"])

    def test_invalid_regex(self) -> None:
        """An invalid regex raises PatternError (a ValueError)."""
        with pytest.raises(ValueError, match="missing \\)"):
            build_scrub(["(unclosed"])

    def test_builtins_and_regexes_in_order(self) -> None:
        """Built-ins and regexes mix in one list."""
        text = "bob@example.com paid 4111111111111111 token=abc"
        assert scrub(["email", "credit_card", r"token=\w+"], text) == "[REDACTED] paid [REDACTED] [REDACTED]"


class TestTransform:
    def test_every_string_value(self) -> None:
        """Every top-level string value is scrubbed; keys, numbers, bools and nested values are not."""
        redact = build_redact(["email", "ipv4"])
        assert redact is not None
        entry: dict[str, Any] = {
            "timestamp": "2024-05-01T00:00:00Z", "message": "login bob@example.com from 10.1.2.3",
            "bob@example.com": "key stays", "count": 10, "ok": True, "nested": {"to": "x@y.com"},
            "host": "10.0.0.9",
        }
        entries = [entry]
        redact(entries)
        assert list(entries[0].items()) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("message", "login [REDACTED] from [REDACTED]"),
            ("bob@example.com", "key stays"), ("count", 10), ("ok", True),
            ("nested", {"to": "x@y.com"}), ("host", "[REDACTED]"),
        ]

    def test_nothing_to_redact_keeps_objects(self) -> None:
        """A value with nothing to replace is the same object (no copy)."""
        scrubber = build_scrub(["email", "credit_card", "bearer_token", "ipv4", "secret=\\S+"])
        assert scrubber is not None
        text = "plain text without anything sensitive"
        assert scrubber(text) is text

    def test_empty_list(self) -> None:
        """No redact list: no transform at all."""
        assert build_redact([]) is None
        assert build_scrub([]) is None
