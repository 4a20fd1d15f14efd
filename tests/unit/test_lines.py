"""LineSplitter: chunks to complete lines, partial carry, long lines cut into pieces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from logproc.sources.file.lines import LineSplitter


class TestLineSplitter:
    def test_complete_lines_and_a_carried_partial(self):
        """Complete lines come out; the unterminated tail waits for its newline."""
        s = LineSplitter(1024)
        out = s.feed(b"one\ntwo\nthr")
        assert (out.lines, out.parts, out.empty, s.pending) == ([b"one", b"two"], None, 0, 3)
        out = s.feed(b"ee\n")
        assert (out.lines, s.pending) == ([b"three"], 0)

    def test_crlf_loses_the_cr_and_empty_lines_are_counted(self):
        """`\\r\\n` endings lose the `\\r`; empty lines are skipped and counted."""
        s = LineSplitter(1024)
        out = s.feed(b"a\r\n\r\n\nb\n")
        assert (out.lines, out.empty) == ([b"a", b"b"], 2)

    def test_long_line_is_cut_into_numbered_pieces(self):
        """A line over the limit becomes pieces 1, 2, … each at most the limit."""
        s = LineSplitter(4)
        out = s.feed(b"abcdefghij\nxy\n")
        assert out.lines == [b"abcd", b"efgh", b"ij", b"xy"]
        assert out.parts == [1, 2, 3, 0]
        assert out.pieces == 3

    def test_growing_line_is_cut_as_it_grows(self):
        """A line without a newline is cut once it passes the limit: memory stays bounded."""
        s = LineSplitter(4)
        out = s.feed(b"abcdefghij")
        assert (out.lines, out.parts, s.pending) == ([b"abcd", b"efgh"], [1, 2], 2)
        out = s.feed(b"k\n")
        assert (out.lines, out.parts) == ([b"ijk"], [3])

    def test_cut_respects_utf8_characters(self):
        """Pieces never split a multi-byte character."""
        s = LineSplitter(4)
        out = s.feed("abcé€\n".encode())
        assert [p.decode() for p in out.lines] == ["abc", "é", "€"]

    def test_flush_hands_out_the_partial_line(self):
        """`flush` (end of --once) delivers the unterminated last line."""
        s = LineSplitter(1024)
        s.feed(b"a\nlast")
        out = s.flush()
        assert (out.lines, s.pending) == ([b"last"], 0)
        assert s.flush().lines == []

    @given(st.lists(st.binary(max_size=40), max_size=30), st.integers(4, 64))
    def test_any_chunking_yields_the_same_lines(self, chunks, limit):
        """Splitting is independent of where chunk boundaries fall, and loses no byte."""
        data = b"".join(chunks)
        whole = LineSplitter(limit)
        expected = whole.feed(data).lines + whole.flush().lines
        split = LineSplitter(limit)
        got: list[bytes] = []
        for c in chunks:
            got += split.feed(c).lines
        got += split.flush().lines
        assert b"".join(got) == b"".join(expected)
        stripped = data.replace(b"\r\n", b"\n").replace(b"\n", b"")
        if not data.endswith(b"\r"):
            assert len(b"".join(got)) <= len(stripped)
