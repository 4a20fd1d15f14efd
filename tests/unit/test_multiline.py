"""Multiline entries at the splitter level: grouping, the held entry and its offsets."""

from __future__ import annotations

from logproc.sources.multiline import MultilineSplitter

START = r"^\d{4}-\d{2}-\d{2} "  # anchored, as operators write it

JAVA = (b"2026-11-24 04:00:01 ERROR request failed\n"
        b"java.lang.IllegalStateException: boom\n"
        b"\tat com.example.Service.handle(Service.java:42)\n"
        b"\tat com.example.Main.main(Main.java:7)\n"
        b"Caused by: java.io.IOException: disk\n"
        b"\t... 2 more\n")
PYTHON = (b"2026-11-24 04:00:02 ERROR unhandled\n"
          b"Traceback (most recent call last):\n"
          b'  File "app.py", line 3, in <module>\n'
          b"    main()\n"
          b"ZeroDivisionError: division by zero\n")
NEXT = b"2026-11-24 04:00:03 INFO next\n"


def test_stack_traces_become_one_entry_each_once_the_next_start_arrives() -> None:
    s = MultilineSplitter(START, 1 << 20)
    split = s.feed(JAVA + PYTHON + NEXT)
    assert split.lines == [JAVA[:-1], PYTHON[:-1]]
    assert s.pending == len(NEXT)  # the last entry may still continue: held, not handed out


def test_the_held_entry_is_counted_in_pending_so_the_checkpoint_stops_before_it() -> None:
    s = MultilineSplitter(START, 1 << 20)
    assert s.feed(JAVA[:60]).lines == []
    assert s.feed(JAVA[60:]).lines == []
    assert s.pending == len(JAVA) and s.holds_entry
    split = s.feed(b"2026-11-24 04:00:09 INFO after\npartial")
    assert split.lines == [JAVA[:-1]]
    assert s.pending == len(b"2026-11-24 04:00:09 INFO after\npartial")


def test_flush_entry_hands_out_the_held_entry_but_keeps_a_partial_line() -> None:
    s = MultilineSplitter(START, 1 << 20)
    s.feed(PYTHON + b"    more")
    split = s.flush_entry()
    assert split.lines == [PYTHON[:-1]]
    assert s.pending == len(b"    more") and not s.holds_entry
    assert s.flush().lines == [b"    more"]


def test_lines_before_the_first_start_form_their_own_entry() -> None:
    s = MultilineSplitter(START, 1 << 20)
    split = s.feed(b"orphan 1\norphan 2\n" + NEXT + NEXT)
    assert split.lines == [b"orphan 1\norphan 2", NEXT[:-1]]


def test_blank_lines_inside_an_entry_are_kept_between_entries_counted() -> None:
    s = MultilineSplitter(START, 1 << 20)
    split = s.feed(b"\n2026-11-24 04:00:01 a\n\n  b\n\n" + NEXT)
    assert split.lines == [b"2026-11-24 04:00:01 a\n\n  b"]
    assert split.empty == 2


def test_crlf_endings_lose_their_cr() -> None:
    s = MultilineSplitter(START, 1 << 20)
    assert s.feed(b"2026-11-24 04:00:01 a\r\n  b\r\n" + NEXT).lines == [b"2026-11-24 04:00:01 a\n  b"]


def test_an_entry_reaching_max_line_bytes_is_handed_out_as_it_is() -> None:
    s = MultilineSplitter(START, 200)
    body = b"2026-11-24 04:00:01 start\n" + b"  continuation line\n" * 20
    split = s.feed(body)
    assert split.lines == [body[:-1]]
    assert s.pending == 0


def test_a_line_with_no_newline_never_grows_the_carry_past_the_limit() -> None:
    s = MultilineSplitter(START, 64)
    out = []
    for _ in range(50):
        out += s.feed(b"x" * 10).lines
        assert s.pending <= 64
    assert b"".join(out) + s.flush().lines[0] == b"x" * 500


def test_nul_holes_at_a_line_start_are_dropped_before_matching() -> None:
    s = MultilineSplitter(START, 1 << 20)
    split = s.feed(b"2026-11-24 04:00:01 a\n\0\0\0\0" + NEXT + NEXT)
    assert split.lines == [b"2026-11-24 04:00:01 a", NEXT[:-1]]
