"""Operator patterns run on RE2: no input makes them run away, and they mean what `re` would
for the patterns operators write (named groups, search, literal replacement)."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest

from logproc.patterns import PatternError, compile_pattern, utf8
from logproc.sources.file.multiline import MultilineSplitter
from logproc.transforms.filter import build_filter
from logproc.transforms.parse_regex import build_regex_parser
from logproc.transforms.redact import build_scrub

HOSTILE = r"(?P<x>(a+)+)b"  # exponential on a backtracking engine: 40 "a" never return
MiB = 1 << 20


def elapsed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


class TestLinearTime:
    """Each place an operator's regex runs finishes a hostile line in well under a second
    (Python's `re` does not finish the first case at all, the second in hours)."""

    def test_nested_repetition_on_forty_a(self) -> None:
        """The pattern of the report: `(a+)+b` against forty `a` and no `b`."""
        found, took = elapsed(compile_pattern(HOSTILE).found, "a" * 40)
        assert found is False
        assert took < 0.5

    @pytest.mark.parametrize("pattern", [HOSTILE, r"\w+ x", r"(.*a){12}", r"(a|a)*c"])
    def test_one_mebibyte_line(self, pattern: str) -> None:
        """Ordinary-looking patterns are quadratic or worse on a backtracking engine when a
        1 MiB line almost matches; here every one is linear."""
        groups, took = elapsed(compile_pattern(pattern).groups, b"a" * MiB)
        assert groups is None or isinstance(groups, dict)
        assert took < 1.0

    def test_regex_parser(self) -> None:
        """`parser = "regex"`: no match, so the line becomes a parse error, quickly."""
        parser = build_regex_parser("app", "web-1", None, HOSTILE)
        (entries, errors), took = elapsed(parser, [b"a" * 40, b"a" * MiB], "/x.log", 0.0)
        assert errors == 2
        assert [e["parse_error"] for e in entries] == ["pattern did not match"] * 2
        assert took < 1.0

    def test_sink_filter(self) -> None:
        """include/exclude regexes."""
        keep = build_filter(SimpleNamespace(min_level=None, include={"message": HOSTILE}, exclude={}))
        assert keep is not None
        (kept, _, dropped), took = elapsed(keep, [{"message": "a" * 40}, {"message": "a" * MiB + "b"}])
        assert (kept, dropped) == ([1], 1)
        assert took < 1.0

    def test_redact(self) -> None:
        """A user redact regex."""
        scrub = build_scrub([r"(a+)+b"])
        assert scrub is not None
        (out, took) = elapsed(scrub, "a" * 40 + " then aab")
        assert out == "a" * 40 + " then [REDACTED]"
        assert took < 0.5

    def test_multiline_start(self) -> None:
        """`multiline.start` is tried at every line start of every read."""
        split = MultilineSplitter(r"(a+)+b", 1 << 21)
        data = b"ab first\n" + (b"a" * 40 + b"\n") * 1000 + b"aab second\n"
        result, took = elapsed(split.feed, data)
        assert len(result.lines) == 1 and result.lines[0].startswith(b"ab first\n")
        assert took < 0.5


class TestMeaning:
    def test_groups_in_pattern_order(self) -> None:
        """Named groups come back in the order the pattern names them (RE2 lists them by
        name), without those that took no part."""
        p = compile_pattern(r"(?P<zeta>\d+) (?P<alpha>\w+)(?: (?P<mid>x))?")
        assert list(p.groupindex) == ["zeta", "alpha", "mid"]
        assert p.groups(b"id 42 foo") == {"zeta": "42", "alpha": "foo"}

    def test_groups_on_text_with_multibyte_characters(self) -> None:
        """Spans are byte offsets; groups decode to the right characters."""
        assert compile_pattern(r"(?P<who>\S+) → (?P<what>.+)").groups("ünï → ça va".encode()) == {
            "who": "ünï", "what": "ça va"}

    def test_invalid_utf8_is_matched_as_replaced(self) -> None:
        """A line with invalid UTF-8 is matched as the entry will hold it (U+FFFD)."""
        line = utf8(b"user=\xff\xfe ok")
        assert line == "user=\ufffd\ufffd ok".encode()
        assert compile_pattern(r"user=(?P<u>\S+)").groups(line) == {"u": "\ufffd\ufffd"}

    @pytest.mark.parametrize(("pattern", "text"), [
        (r"timeout|refused", "connection refused"), (r"^/health", "/healthz"), (r"\d{3}", "status 503"),
        (r"(?i)error", "ERROR here"), (r"^$", ""), (r"x", "y"),
    ])
    def test_found_agrees_with_re(self, pattern: str, text: str) -> None:
        """For the patterns operators write, `found` is `re.search`, memoised or not."""
        p = compile_pattern(pattern)
        want = re.search(pattern, text) is not None
        assert p.found(text) is want
        assert p.found(text) is want  # second call: from the memo
        assert p.found(text + " " * 300) is (re.search(pattern, text + " " * 300) is not None)

    def test_sub_is_literal_and_returns_the_same_object_when_nothing_matched(self) -> None:
        p = compile_pattern(r"token=\w+")
        text = "no secret here"
        assert p.sub("[REDACTED]", text) is text
        assert p.sub(r"\1[R]", "a token=abc b token=d") == r"a \1[R] b \1[R]"

    def test_sub_steps_over_empty_matches(self) -> None:
        """An empty match (possible inside a combined pattern) never loops."""
        assert compile_pattern(r"x*").sub("-", "ab") == "-a-b-"

    def test_multiline_anchor_at_each_line(self) -> None:
        """`^` and `$` hold at line boundaries inside a buffer, not past the line's end."""
        p = compile_pattern(r"^\d{4}$", multiline=True)
        data = b"xx\n2024\n2024x\n"
        assert p.starts(data, 3, 7) is True
        assert p.starts(data, 8, 13) is False
        assert p.starts(data, 0, 2) is False


class TestRefused:
    @pytest.mark.parametrize(("pattern", "message"), [
        (r"(a)\1", r'backreferences such as "\1" are not supported'),
        (r"(?P<x>a)(?P=x)", r'backreferences "(?P=name)" are not supported'),
        (r"(?=a)b", r'lookahead "(?=" is not supported'),
        (r"(?!a)b", r'negative lookahead "(?!" is not supported'),
        (r"(?<=a)b", r'lookbehind "(?<=" is not supported'),
        (r"(?<!a)b", r'negative lookbehind "(?<!" is not supported'),
        (r"(?>a)", r'atomic groups "(?>" are not supported'),
        (r"a++", r'possessive repetition "++" is not supported'),
        (r"end\Z", r'"\Z" is not supported; write "\z" for the end of the text'),
        ("(?P<m>", r'missing ) in "(?P<m>"'),
        ("x" * 4097, "regular expression too long: 4097 characters, limit 4096"),
    ])
    def test_message(self, pattern: str, message: str) -> None:
        with pytest.raises(PatternError) as info:
            compile_pattern(pattern)
        assert message in str(info.value)
        assert str(info.value).startswith(("invalid regular expression: ", "regular expression too long"))

    def test_refusals_print_nothing(self, capfd: pytest.CaptureFixture[str]) -> None:
        """RE2 logs refused patterns on stderr itself unless told not to: stderr belongs to
        the daemon's structured log."""
        with pytest.raises(PatternError):
            compile_pattern(r"(?=x)")
        assert capfd.readouterr().err == ""
