"""Compressed files read as their decompressed bytes: the four formats by magic bytes,
several streams in one file, a file cut short or garbage, cheap size hints."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import pytest

from logproc.sources.file import compressed
from logproc.sources.file.compressed import Corrupt, Decompressed, Truncated, head, size_hint, sniff

CONTENT = b"".join(b"seq=%d some text of a log line\n" % i for i in range(50_000))
COMPRESS = {
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": compressed.zstd.compress,
}


def _fd(path: Path) -> int:
    return os.open(path, os.O_RDONLY)


def _read_all(reader: Decompressed, step: int = 1 << 20) -> bytes:
    out = bytearray()
    while data := reader.read(step):
        out += data
    return bytes(out)


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_each_format_by_its_magic_whatever_its_name(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "app.log.1"  # no telling suffix
    path.write_bytes(COMPRESS[fmt](CONTENT))
    fd = _fd(path)
    assert sniff(fd) == fmt
    reader = Decompressed(fd, fmt)
    assert _read_all(reader) == CONTENT
    assert reader.pos == len(CONTENT)
    assert head(fd, fmt, 1024) == CONTENT[:1024]


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_several_streams_are_read_through(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "two"
    half = len(CONTENT) // 2
    path.write_bytes(COMPRESS[fmt](CONTENT[:half]) + COMPRESS[fmt](CONTENT[half:]))
    assert _read_all(Decompressed(_fd(path), fmt), 4096) == CONTENT


def test_plain_text_is_not_compressed(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(b"just text\n")
    assert sniff(_fd(path)) is None


@pytest.mark.parametrize("fmt", sorted(COMPRESS))
def test_cut_short_gives_what_decodes_then_truncated(tmp_path: Path, fmt: str) -> None:
    data = COMPRESS[fmt](CONTENT)
    path = tmp_path / "cut"
    path.write_bytes(data[: len(data) * 2 // 3])
    reader = Decompressed(_fd(path), fmt)
    got = bytearray()
    with pytest.raises(Truncated):
        while chunk := reader.read(1 << 20):
            got += chunk
    assert got, "what decodes comes first"
    assert CONTENT.startswith(bytes(got))
    assert reader.pos == len(got)


def test_garbage_after_the_magic_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b" + os.urandom(200))
    with pytest.raises(Corrupt):
        Decompressed(_fd(path), "gzip").read(1 << 20)


def test_skip_resumes_at_an_offset(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(CONTENT))
    reader = Decompressed(_fd(path), "gzip")
    reader.skip(123_457)
    assert reader.read(100) == CONTENT[123_457:123_557]
    with pytest.raises(Truncated):
        Decompressed(_fd(path), "gzip").skip(len(CONTENT) + 1)


def test_size_hints(tmp_path: Path) -> None:
    for fmt, expected in (("gzip", len(CONTENT)), ("zstd", len(CONTENT)), ("xz", None), ("bzip2", None)):
        path = tmp_path / fmt
        path.write_bytes(COMPRESS[fmt](CONTENT))
        assert size_hint(_fd(path), fmt) == expected, fmt


def test_the_archive_is_never_changed(tmp_path: Path) -> None:
    path = tmp_path / "x.xz"
    data = lzma.compress(CONTENT)
    path.write_bytes(data)
    before = os.stat(path)
    fd = _fd(path)
    _read_all(Decompressed(fd, "xz"))
    head(fd, "xz", 10)
    assert path.read_bytes() == data
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
