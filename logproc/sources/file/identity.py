"""Finding a file again: by device and inode, as a copytruncate copy, or as a rotated
generation, among the files of a folder.

- `find_by_inode`: a checkpointed file that is no longer at its path was renamed (rotated)
  — look for its device and inode among the files of its folder (`app.log.1`,
  `app.log-20261124`), whether or not a glob matches that name.
- `find_copy`: a file truncated under us (copytruncate) may have a copy beside it: a file
  whose first bytes match the truncated file's fingerprint and whose bytes just before the
  delivered offset match the checkpoint's tail hash. The copy holds the lines written
  between the last read and the truncation.
- `generations`: files named `<base>` + `.`/`-`/`_` + suffix in the same folder, modified
  after a given time: rotated generations that appeared while we were not looking (two
  rotations in quick succession, or while the daemon was stopped).

A compressed file (gzip, zstd, xz, bzip2: `sources.compressed`) is compared by its
decompressed bytes: a copy compressed right away (`copytruncate` + `compress`) is still the
copy, and a generation compressed before we saw it is still a generation.
Limit: a stray file named like a generation (a hand-made `app.log.bak`) modified after the
last delivery is taken for one and read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from logproc.sources.file import compressed, fingerprint


def entries(folder: str) -> Iterator[tuple[str, os.stat_result]]:
    """Regular files of `folder` (following symlinks) with their stat."""
    try:
        it = os.scandir(folder)
    except OSError:
        return
    with it:
        for e in it:
            try:
                st = os.stat(e.path)
            except OSError:
                continue
            if not os.path.isdir(e.path) and st.st_mode & 0o170000 == 0o100000:
                yield e.path, st


def find_by_inode(folder: str, dev: int, ino: int) -> str | None:
    for path, st in entries(folder):
        if st.st_dev == dev and st.st_ino == ino:
            return path
    return None


def find_copy(folder: str, fp_len: int, fp: str, offset: int, tail: str,
              exclude: set[str]) -> tuple[str, int, os.stat_result, str | None] | None:
    """An open copy of a file whose first `fp_len` bytes hash to `fp` and whose bytes before
    `offset` hash to `tail`, and its compression format (None: plain); files whose key is in
    `exclude` are skipped. Nothing is a copy of content known by nothing (no fingerprint
    and no offset): any file would match."""
    if not fp_len and not offset:
        return None
    for path, st in entries(folder):
        if fingerprint.file_key(st) in exclude:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fmt = compressed.sniff(fd)
            if fmt is not None and _archive_holds(fd, fmt, fp_len, fp, offset, tail):
                return path, fd, os.fstat(fd), fmt
            if (fmt is None and st.st_size >= offset and st.st_size >= fp_len
                    and fingerprint.matches(fd, fp_len, fp) and fingerprint.tail_hash(fd, offset) == tail):
                return path, fd, os.fstat(fd), None
        except OSError:
            pass
        os.close(fd)
    return None


def _archive_holds(fd: int, fmt: str, fp_len: int, fp: str, offset: int, tail: str) -> bool:
    """Does the archive decompress to bytes starting like `fp` and matching `tail` before
    `offset`? (Decodes up to `offset`: only after its first bytes matched.)"""
    if fingerprint.digest(compressed.head(fd, fmt, fp_len)) != fp:
        return False
    if not offset:
        return True
    back = min(offset, fingerprint.TAIL_BYTES)
    reader = compressed.Decompressed(fd, fmt)
    try:
        reader.skip(offset - back)
        before = reader.read(back)
    except (compressed.Truncated, compressed.Corrupt):
        return False
    finally:
        reader.close()
    return len(before) == back and fingerprint.digest(before) == tail


def generations(path: str, since: float) -> list[tuple[str, os.stat_result]]:
    """Rotated generations of `path` in its folder, changed at or after `since` (epoch s)."""
    folder, base = os.path.split(path)
    out = []
    for p, st in entries(folder or "."):
        name = os.path.basename(p)
        # ctime too: it moves when a file is created or renamed, and no tool sets it back (a
        # generation compressed with its original mtime kept still counts as new)
        if (len(name) > len(base) + 1 and name.startswith(base) and name[len(base)] in ".-_"
                and max(st.st_mtime, st.st_ctime) >= since):
            out.append((p, st))
    out.sort(key=lambda x: x[1].st_mtime)
    return out
