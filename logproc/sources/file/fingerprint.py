"""File identity: device + inode, confirmed by a fingerprint of the first bytes.

The same device and inode with matching first bytes is the same file; a reused inode with
other content is a new file. A file smaller than `FP_BYTES` gets a provisional fingerprint
over what it has, which grows with it (the tailer re-takes `head` as the file grows and
updates its checkpoint): it is never ignored and never re-read.
"""

from __future__ import annotations

import hashlib
import os

FP_BYTES = 1024
TAIL_BYTES = 64


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_key(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}"


def head(fd: int, size: int) -> tuple[int, str]:
    """(length, digest) of the first min(size, FP_BYTES) bytes of an open file."""
    data = os.pread(fd, min(size, FP_BYTES), 0)
    return len(data), digest(data)


def matches(fd: int, fp_len: int, fp: str) -> bool:
    """Do the first `fp_len` bytes of the open file hash to `fp`?"""
    data = os.pread(fd, fp_len, 0)
    return len(data) == fp_len and digest(data) == fp


def tail_hash(fd: int, offset: int) -> str:
    """Digest of up to TAIL_BYTES bytes just before `offset` ("" at offset 0)."""
    if offset <= 0:
        return ""
    start = max(0, offset - TAIL_BYTES)
    data = os.pread(fd, offset - start, start)
    return digest(data) if len(data) == offset - start else "!"
