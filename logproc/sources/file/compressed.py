"""Compressed files: gzip, zstd, xz and bzip2, recognised by their magic bytes, read as the
bytes they decompress to.

A compressed file is a file like any other to a source: its identity (fingerprint, the
hash before the offset) and its offsets are those of its *decompressed* content, so
`app.log.1.gz` is recognised as the generation of `app.log` it was made from.

Contract:
- `sniff(fd)`: the format of an open file from its first bytes (None: not compressed).
  Names do not matter: `app.log.1` may be gzip, `x.gz` may be text.
- `Decompressed(fd, fmt)`: the file read forward; `read(n)` returns up to n decompressed
  bytes, `b""` at the end of the last stream (multi-member gzip, concatenated bzip2, xz and
  zstd streams are read through). An input that ends before its end-of-stream marker
  raises `Truncated` (cut short, or still being written: the caller decides by age); bytes
  that cannot be decoded raise `Corrupt`. Everything decoded before either is returned by
  earlier calls first. `skip(offset)` decompresses and discards up to `offset` (the cost of
  resuming: see docs/performance.md).
- `head(fd, fmt, n)`: the first n decompressed bytes, or fewer when the stream is shorter
  or breaks (for fingerprints; a fresh decoder, the caller's reader is not moved).
- `size_hint(fd, fmt)`: the decompressed size when the format says it without decoding
  (gzip's ISIZE trailer for a single-member file below 4 GiB, a zstd frame header's content
  size), else None.
Archives are only ever read: every reader works on its own duplicate of the descriptor.

zstd: the standard library's `compression.zstd` (Python 3.14), or its backport
`backports.zstd` before that — the same API as `gzip`/`lzma`/`bz2`, from the module the
standard library adopted, rather than a third-party API to migrate from later.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import struct
import zlib
from typing import IO, Any

try:
    from compression import zstd  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    from backports import zstd  # type: ignore[no-redef, unused-ignore]

MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"))
STEP = 1 << 20  # bytes decompressed per call while skipping

_ERRORS: tuple[type[BaseException], ...] = (OSError, zlib.error, lzma.LZMAError, zstd.ZstdError, ValueError)


class Truncated(Exception):
    """The compressed input ended before its end-of-stream marker."""


class Corrupt(Exception):
    """The compressed input holds bytes that do not decode."""


def format_of(head: bytes) -> str | None:
    """"gzip", "zstd", "xz", "bzip2", or None, from a file's first bytes."""
    for magic, fmt in MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def sniff(fd: int) -> str | None:
    """The format of an open file (see `format_of`)."""
    return format_of(os.pread(fd, 6, 0))


def _open(fmt: str, raw: IO[bytes]) -> Any:
    if fmt == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if fmt == "zstd":
        return zstd.ZstdFile(raw, mode="rb")
    if fmt == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if fmt == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    raise ValueError(f"unknown compression format {fmt!r}")


class Decompressed:
    """One compressed file read forward as its decompressed bytes; `pos` counts them."""

    def __init__(self, fd: int, fmt: str) -> None:
        self.fmt = fmt
        self.pos = 0
        self._error: Truncated | Corrupt | None = None  # raised by the call after the data
        self._raw = os.fdopen(os.dup(fd), "rb", buffering=0)
        self._raw.seek(0)
        self._stream = _open(fmt, self._raw)

    def read(self, n: int) -> bytes:
        """Up to `n` decompressed bytes (fewer only at the end or before an error)."""
        if self._error is not None:
            raise self._error
        out: list[bytes] = []
        got = 0
        while got < n:
            try:
                # read1: one decoding step. read(n) gathers steps in a buffer and loses them
                # all when the input breaks off inside the call
                data = self._stream.read1(n - got)
            except EOFError as exc:
                self._error = Truncated(str(exc))
                break
            except _ERRORS as exc:
                self._error = Corrupt(f"{type(exc).__name__}: {exc}")
                break
            if not data:
                break
            out.append(data)
            got += len(data)
        if not out and self._error is not None:
            raise self._error
        data = out[0] if len(out) == 1 else b"".join(out)
        self.pos += len(data)
        return data

    def skip(self, offset: int) -> None:
        """Decompress and discard up to `offset`; `Truncated` when the content is shorter."""
        while self.pos < offset:
            if not self.read(min(STEP, offset - self.pos)):
                raise Truncated(f"the content ends at {self.pos}, before {offset}")

    @property
    def compressed_pos(self) -> int:
        """How far into the compressed file the decoder has read (for progress and losses)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        for part in (self._stream, self._raw):
            with contextlib.suppress(*_ERRORS):
                part.close()


def head(fd: int, fmt: str, n: int) -> bytes:
    """Up to the first `n` decompressed bytes (fewer when the stream is shorter or breaks)."""
    reader = Decompressed(fd, fmt)
    out = io.BytesIO()
    try:
        while out.tell() < n:
            data = reader.read(n - out.tell())
            if not data:
                break
            out.write(data)
    except (Truncated, Corrupt):
        pass
    finally:
        reader.close()
    return out.getvalue()


def size_hint(fd: int, fmt: str) -> int | None:
    """The decompressed size when the file states it (see the module doc), else None."""
    size = os.fstat(fd).st_size
    if fmt == "gzip" and size >= 18:
        # ISIZE is the last member's size mod 2**32: exact for one member under 4 GiB, which
        # logrotate's gzip writes; a second member shows as another header after the first
        # (not checked: a hint, confirmed by decoding when it matters)
        return int(struct.unpack("<I", os.pread(fd, 4, size - 4))[0])
    if fmt == "zstd":
        try:
            info: Any = zstd.get_frame_info(os.pread(fd, 18, 0))
        except (zstd.ZstdError, ValueError):
            return None
        content = info.decompressed_size
        return None if content is None else int(content)
    return None
