"""Multiline entries at the splitter level: grouping, the held entry and its offsets."""

from __future__ import annotations

from logproc.sources.file.multiline import MultilineSplitter

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


ERROR = b"2026-11-24 04:00:01 ERROR boom\n  at one\n  at two\n"  # 30 + 1 + 8 + 1 + 8 + 1 bytes


def units(split) -> list[tuple[bytes, int]]:
    return list(zip(split.lines, split.parts or [0] * len(split.lines), strict=True))


def test_an_entry_past_max_line_bytes_is_cut_into_numbered_pieces() -> None:
    """Each piece is at most the limit in bytes of the file, numbered 1, 2, …; the entries
    around it stay whole."""
    s = MultilineSplitter(START, 32)
    split = s.feed(NEXT + ERROR + NEXT)
    assert units(split) == [(NEXT[:-1], 0), (b"2026-11-24 04:00:01 ERROR boom\n ", 1),
                            (b" at one\n  at two", 2)]
    assert split.pieces == 2
    assert s.pending == len(NEXT)


def test_pieces_do_not_depend_on_how_the_entry_arrives() -> None:
    """Fed a byte at a time, the entry is cut as it grows, into the same pieces."""
    s = MultilineSplitter(START, 32)
    got = []
    for byte in ERROR + NEXT:
        got += units(s.feed(bytes([byte])))
        assert s.pending <= 3 * 32  # the rest of the entry, blank lines, the partial line
    assert got == [(b"2026-11-24 04:00:01 ERROR boom\n ", 1), (b" at one\n  at two", 2)]


def test_the_checkpoint_passes_the_pieces_handed_out_never_the_rest() -> None:
    """`pending` covers what follows the last piece, so the batch end is where that piece ends."""
    s = MultilineSplitter(START, 32)
    assert units(s.feed(ERROR)) == [(b"2026-11-24 04:00:01 ERROR boom\n ", 1)]
    assert s.pending == len(ERROR) - 32
    assert units(s.flush_entry()) == [(b" at one\n  at two", 2)]
    assert s.pending == 0


def test_a_partial_line_past_the_limit_is_cut_with_no_byte_added_or_lost() -> None:
    """The carry keeps exactly the bytes not handed out: none made up, none dropped."""
    s = MultilineSplitter(r"^S", 10)
    assert units(s.feed(b"S1\n" + b"x" * 17)) == [(b"S1\nxxxxxxx", 1)]
    assert s.pending == 10
    assert units(s.flush()) == [(b"x" * 10, 2)]


def test_cuts_fall_between_characters_and_never_between_cr_and_lf() -> None:
    """A 4-byte character that would straddle the limit goes to the next piece; so does a
    `\r\n` ending, and the `\r` is not part of the text."""
    s = MultilineSplitter(r"^S", 8)
    assert units(s.feed("S é€😀\r\nab\r\nS\n".encode())) == [
        ("S é€".encode(), 1), ("😀\nab".encode(), 2)]
    s = MultilineSplitter(r"^S", 8)
    assert units(s.feed(b"S abcde\r\nxy\r\nS\n")) == [(b"S abcde", 1), (b"\nxy", 2)]


def test_blank_lines_after_a_cut_entry_wait_for_the_next_line() -> None:
    """Blank lines at the end of an entry being cut are not in a piece until a continuation
    line makes them its own; a start line drops them."""
    s = MultilineSplitter(r"^S", 16)
    assert units(s.feed(b"S one two three four\n\n\n")) == [(b"S one two three ", 1)]
    assert s.pending == len(b"four\n\n\n")
    split = s.feed(b"S next\n")
    assert (units(split), split.empty) == ([(b"four", 2)], 2)
    s = MultilineSplitter(r"^S", 16)
    s.feed(b"S one two three four\n\n\n")
    assert units(s.feed(b" more\nS next\n")) == [(b"four\n\n\n more", 2)]


def test_a_partial_line_past_the_limit_that_starts_an_entry_ends_the_one_before() -> None:
    """Judged by what there is of it: it matches the start pattern, so the entry before it is
    complete, and it is cut as the first line of the next."""
    s = MultilineSplitter(r"^S", 8)
    assert units(s.feed(b"S a\n b\nS" + b"y" * 9)) == [(b"S a\n b", 0), (b"Syyyyyyy", 1)]
    assert s.pending == 2


def test_a_run_of_blank_lines_past_the_limit_ends_the_entry() -> None:
    """Memory stays bounded: the blank lines are taken as the entry's end (as a start line
    would), and a continuation line after them is an entry of its own."""
    s = MultilineSplitter(r"^S", 8)
    split = s.feed(b"S a\n" + b"\n" * 9)
    assert (split.lines, split.empty, s.pending) == ([b"S a"], 9, 0)
    assert s.feed(b" b\nS\n").lines == [b" b"]


def test_a_start_pattern_ending_in_dollar_sees_lines_without_their_cr() -> None:
    """`\r\n` lines match as they are handed out: the entry completes on the next start."""
    s = MultilineSplitter(r"^BEGIN$", 1 << 20)
    assert s.feed(b"BEGIN\r\n a\r\nBEGIN\r\n b\r\n").lines == [b"BEGIN\n a"]
    assert s.pending == len(b"BEGIN\r\n b\r\n")


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
