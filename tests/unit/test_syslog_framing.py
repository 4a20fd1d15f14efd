"""Framing of syslog over TCP (RFC 6587): octet counting, newlines, auto, the size limit;
every stream also fed one byte at a time, which must frame the same."""

from __future__ import annotations

import pytest

from logproc.sources.syslog.framing import Framer, FramingError, trim
from logproc.transforms.parse_syslog import build_syslog_parser


def frame(data: bytes, framing: str = "auto", limit: int = 65536) -> tuple[list[bytes], Framer]:
    f = Framer(framing, limit)  # type: ignore[arg-type]
    return f.feed(data) + f.finish(), f


def frame_bytewise(data: bytes, framing: str = "auto", limit: int = 65536) -> tuple[list[bytes], Framer]:
    f = Framer(framing, limit)  # type: ignore[arg-type]
    out: list[bytes] = []
    for i in range(len(data)):
        out += f.feed(data[i:i + 1])
    return out + f.finish(), f


BOTH = pytest.mark.parametrize("run", [frame, frame_bytewise], ids=["whole", "bytewise"])


def octets(*msgs: bytes) -> bytes:
    return b"".join(b"%d %b" % (len(m), m) for m in msgs)


@BOTH
def test_octet_counting_keeps_newlines_inside_a_message(run) -> None:
    msgs = [b"<13>1 - h app - - - one", b"<13>1 - h app - - - two\nlines", b"<13>1 - h app - - - 3"]
    for framing in ("auto", "octet"):
        out, f = run(octets(*msgs), framing)
        assert out == msgs
        assert f.cut == 0


@BOTH
def test_newline_framing_and_trimming(run) -> None:
    data = b"<13>one\n<13>two\r\n<13>three\x00\n\n<13>last without newline"
    expected = [b"<13>one", b"<13>two", b"<13>three", b"", b"<13>last without newline"]
    assert run(data, "newline")[0] == expected
    assert run(data, "auto")[0] == expected


@BOTH
def test_auto_decides_frame_by_frame(run) -> None:
    data = octets(b"<13>a") + b"<13>b\n" + octets(b"<13>c\nd") + b"2024-01-02 no count\n" + b"12345\n"
    assert run(data, "auto")[0] == [b"<13>a", b"<13>b", b"<13>c\nd", b"2024-01-02 no count", b"12345"]


@BOTH
def test_octet_framing_skips_separators_and_refuses_other_bytes(run) -> None:
    assert run(octets(b"<1>a") + b"\n" + octets(b"<1>b") + b"\r\n", "octet")[0] == [b"<1>a", b"<1>b"]
    with pytest.raises(FramingError, match="no octet count at b'<"):
        run(b"<13>plain line\n", "octet")
    with pytest.raises(FramingError, match="no octet count at b'12"):
        run(b"12x <13>plain line\n", "octet")


@BOTH
def test_newline_framing_never_counts_octets(run) -> None:
    assert run(b"5 hello\n", "newline")[0] == [b"5 hello"]


@BOTH
def test_long_octet_frames_are_cut_and_the_rest_skipped(run) -> None:
    long = b"<13>" + b"x" * 996  # 1000 bytes
    out, f = run(octets(b"<13>short", long, b"<13>after"), "auto", 480)
    assert out == [b"<13>short", long[:480], b"<13>after"]
    assert f.cut == 1


@BOTH
def test_long_lines_are_cut_and_the_rest_skipped(run) -> None:
    long = b"<13>" + b"y" * 1996
    for framing in ("auto", "newline"):
        out, f = run(b"<13>short\n" + long + b"\n<13>after\n", framing, 480)
        assert out == [b"<13>short", long[:480], b"<13>after"]
        assert f.cut == 1


def test_a_line_of_exactly_the_limit_is_whole() -> None:
    line = b"<13>" + b"z" * 476
    out, f = frame(line + b"\n" + line + b"\n", "auto", 480)
    assert out == [line, line] and f.cut == 0


def test_nothing_more_than_the_limit_is_buffered() -> None:
    f = Framer("auto", 480)
    assert f.feed(b"<13>" + b"q" * 10_000) == [b"<13>" + b"q" * 476]
    assert f.buffered == 0
    assert f.feed(b"q" * 10_000 + b"\n<13>next\n") == [b"<13>next"]
    f = Framer("auto", 480)
    assert f.feed(b"100000 " + b"r" * 479) == []
    assert f.buffered == 486
    assert f.feed(b"r" * 5000) == [b"r" * 480]
    assert f.buffered == 0


def test_an_octet_frame_cut_short_by_the_end_is_delivered_and_counted() -> None:
    f = Framer("octet", 480)
    assert f.feed(b"50 <13>only part") == []
    assert f.finish() == [b"<13>only part"]
    assert f.cut == 1


def test_partial_count_waits_for_more() -> None:
    f = Framer("auto", 480)
    assert f.feed(b"1") == []
    assert f.feed(b"0") == []
    assert f.feed(b" <13>abcdef") == [b"<13>abcdef"]


def test_trim_takes_one_newline_then_one_cr_or_nul() -> None:
    assert trim(b"a\r\n") == b"a"
    assert trim(b"a\x00") == b"a"
    assert trim(b"a\n\n") == b"a\n"
    assert trim(b"a\nb") == b"a\nb"


def test_the_syslog_parser_keeps_a_message_with_newlines_whole() -> None:
    parse = build_syslog_parser("net", "me", None)
    entries, bad = parse([b"<13>1 2026-01-02T03:04:05Z host app 12 - - first\nsecond"], "tcp://x:1", 0.0)
    assert bad == 0
    assert entries[0]["message"] == "first\nsecond"
    assert entries[0]["app_name"] == "app"
