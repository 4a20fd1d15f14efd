"""The file sink on real files: appends, `{source}` confinement, torn-write repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from logproc.errors import FatalSinkError
from logproc.sinks.base import Delivery, noop
from logproc.sinks.file.sink import TAIL_CHUNK, FileSink


def deliver(sink: FileSink, *payloads: bytes, source: str = "app") -> None:
    sink.write([Delivery(source, p, p.count(b"\n"), noop) for p in payloads])


def test_appends_every_payload_in_order(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    out.write_bytes(b"old 1\n")
    sink = FileSink("f", str(out))
    deliver(sink, b"a 1\na 2\n", b"b 1\n")
    deliver(sink, b"c 1\n")
    sink.close()
    assert out.read_bytes() == b"old 1\na 1\na 2\nb 1\nc 1\n"


def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    """A crash stopped a write part-way: the unacknowledged fragment goes, whole lines stay."""
    out = tmp_path / "out.log"
    out.write_bytes(b"seq=1 done\nseq=2 done\nseq=3 to")
    sink = FileSink("f", str(out))
    deliver(sink, b"seq=3 torn\nseq=4 new\n")
    sink.close()
    assert out.read_bytes() == b"seq=1 done\nseq=2 done\nseq=3 torn\nseq=4 new\n"


def test_a_torn_line_longer_than_one_read_chunk_is_cut_whole(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    out.write_bytes(b"first\n" + b"x" * (TAIL_CHUNK * 2 + 17))
    sink = FileSink("f", str(out))
    deliver(sink, b"next\n")
    sink.close()
    assert out.read_bytes() == b"first\nnext\n"


def test_a_file_holding_only_a_fragment_is_emptied(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    out.write_bytes(b"no newline at all")
    sink = FileSink("f", str(out))
    deliver(sink, b"whole\n")
    sink.close()
    assert out.read_bytes() == b"whole\n"


def test_source_template_writes_one_file_per_source(tmp_path: Path) -> None:
    sink = FileSink("f", str(tmp_path / "out" / "{source}.log"))
    deliver(sink, b"a\n", source="one")
    deliver(sink, b"b\n", source="two")
    sink.close()
    assert (tmp_path / "out" / "one.log").read_bytes() == b"a\n"
    assert (tmp_path / "out" / "two.log").read_bytes() == b"b\n"


@pytest.mark.parametrize("source", ["../escape", "../../etc/x", "a/../../x"])
def test_source_template_cannot_escape_its_folder(tmp_path: Path, source: str) -> None:
    sink = FileSink("f", str(tmp_path / "out" / "{source}.log"))
    with pytest.raises(FatalSinkError, match="escapes the sink folder"):
        deliver(sink, b"a\n", source=source)
    assert not (tmp_path / "escape.log").exists()
