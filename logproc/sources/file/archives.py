"""Archives: what the `file` source does with compressed files (gzip, zstd, xz, bzip2).

A compressed file is identified by its decompressed bytes (`sources.compressed`): the
fingerprint of its first KiB, the hash of the 64 bytes before an offset, offsets counted
in decompressed bytes. So when logrotate compresses `app.log.1` into `app.log.1.gz`:

- the generation was read to its end already (through its open descriptor, before or after
  its deletion): the archive continues that checkpoint at its end, nothing is read again;
- it was read in part (a sink outage held reading back, or the daemon was stopped when it
  was rotated and compressed): the archive continues the checkpoint from its offset
  (decoding and discarding what comes before: see docs/performance.md for the cost);
- its file is still being read as it is (`delaycompress`, or the compression raced our
  read): the archive waits until that reading is done, then continues from where it ended;
- no checkpoint's fingerprint matches it: it is a file never seen, read whole when a glob
  matches it or when it is an unseen rotated generation (see `recovery.find_generations`).

Once an archive is read to its end, its checkpoint records its compressed size (`csize`,
0 until then) and its decompressed size (`size`): an archive with the same identity and
compressed size and `offset == size` is read already and skipped without decoding (a second `--once` over
`/var/log/*.gz` reads nothing). An archive is only ever read.

Losses: an archive cut short (older than `ARCHIVE_SETTLE`, so not one being written) or
undecodable delivers what decodes, is counted (`broken_archives`) and logged with a
warning naming it, and the decompressed bytes known to be lost are counted under `corrupt`:
known when the archive continues a checkpoint of the file it was made from (whose size was
seen); for an archive never seen whole they cannot be known (a broken stream does not say
how long it was), so only the broken archive is counted.

A mixin of `FileSource`.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.log import get_logger
from logproc.sources.base import SourceStats
from logproc.sources.file import compressed, fingerprint, identity
from logproc.sources.file.tailer import State, Tailer

if TYPE_CHECKING:
    from logproc.sources.file.config import FileSourceConfig as SourceConfig

log = get_logger("source")

_BUSY = object()  # the archive's content is still being read from its uncompressed file


class Archives:
    name: str
    cfg: SourceConfig
    store: CheckpointStore
    tailers: dict[str, Tailer]
    skipped: dict[str, tuple[int, int]]  # key -> (size, mtime_ns) of archives not to read again
    finished: dict[str, int]
    stats: SourceStats
    ids: bool  # give lines' offsets (a sink uses the entries' ids)

    if TYPE_CHECKING:
        def _continue_in_copy(self, rec: FileCheckpoint, path: str, why: str) -> bool: ...

        def _discover(self, path: str, st: os.stat_result, initial: bool,
                      rotated: bool = False) -> Tailer | None: ...

        def _lose(self, path: str, nbytes: int, reason: str) -> None: ...

        def _retire(self, t: Tailer) -> None: ...

    def _adopt_archive(self, path: str, fd: int, st: os.stat_result, key: str, fmt: str,
                       initial: bool, rotated: bool) -> Tailer | None:
        """Start reading the archive at `path` (open as `fd`), or decide it needs no reading."""
        rec = self.store.get(key)
        if rec is not None and rec.source != self.name:
            rec = None
        if rec is not None and rec.fmt:  # this archive, seen before, if its content says so
            start = max(rec.offset, self.finished.pop(key, 0))
            if rec.csize == st.st_size and start >= rec.size and (rec.size or start):
                return self._no_reading(fd, key, path, "read to its end already")
            if rec.fp_len and fingerprint.digest(compressed.head(fd, fmt, rec.fp_len)) == rec.fp:
                return self._tail_archive(path, fd, st, fmt, rec, start, 0, rotated)
            # another archive under a reused inode: that one's checkpoint is set aside below
        head = compressed.head(fd, fmt, fingerprint.FP_BYTES)
        found = self._record_of(head)
        if found is _BUSY:
            os.close(fd)
            log.debug("archive waits: its content is still being read from its file", source=self.name,
                      path=path)
            return None  # looked at again by the next pass, once that reading is done
        if isinstance(found, FileCheckpoint):
            if found.fmt and found.size and found.offset >= found.size and found.key != key:
                return self._no_reading(fd, key, path, "a copy of an archive read already")
            return self._continue_archive(path, fd, st, fmt, found, rotated)
        if rec is not None:
            # another file's checkpoint under this inode (freed by its deletion, reused): its
            # content is looked for elsewhere before this archive takes the key
            self._displace(rec, path)
        if initial and self.cfg.start_at == "end":
            return self._no_reading(fd, key, path, "present at start-up, start_at = end")
        rec = FileCheckpoint(st.st_dev, st.st_ino, len(head), fingerprint.digest(head), 0, path,
                             self.name, updated=time.time(), fmt=fmt)
        return self._tail_archive(path, fd, st, fmt, rec, 0, 0, rotated)

    def _continue_archive(self, path: str, fd: int, st: os.stat_result, fmt: str, rec: FileCheckpoint,
                          rotated: bool) -> Tailer | None:
        """The archive holds `rec`'s content: it continues `rec` from its offset."""
        key = fingerprint.file_key(st)
        start = max(rec.offset, self.finished.pop(rec.key, 0))
        self.store.update(rec, dev=st.st_dev, ino=st.st_ino, path=path, fmt=fmt, csize=0, gone_since=0.0)
        if rec.offset >= rec.size and start >= rec.size and compressed.size_hint(fd, fmt) == rec.size:
            self.store.update(rec, csize=st.st_size)  # read to its end: say so
            return self._no_reading(fd, key, path, "read to its end as an uncompressed file")
        log.info("compressed generation of a file read before; reading it from the checkpoint",
                 source=self.name, path=path, offset=start, format=fmt)
        # the size its file had when last seen uncompressed: what is lost if the archive breaks
        return self._tail_archive(path, fd, st, fmt, rec, start, rec.size, rotated)

    def _tail_archive(self, path: str, fd: int, st: os.stat_result, fmt: str, rec: FileCheckpoint,
                      start: int, expected: int, rotated: bool) -> Tailer:
        self.store.put(rec)
        t = Tailer(self.name, path, fd, st, rec, self.store, self.cfg.max_line_bytes,
                   self.cfg.priority, self.cfg.multiline, fmt=fmt, offsets=self.ids)
        t.expected_size = expected
        if start > rec.offset:  # handed out before, not acknowledged yet: not again
            t.pos = t.emitted = start
            t.emitted_tail = ""
        t.size = max(expected, compressed.size_hint(fd, fmt) or 0, t.pos)  # lag; a hint only
        if rotated:
            t.state = State.ROTATED
            t.rotated_at = time.monotonic()
        self.tailers[t.key] = t
        log.info("watching compressed file", source=self.name, path=path, format=fmt, offset=t.pos)
        return t

    def _no_reading(self, fd: int, key: str, path: str = "", why: str = "") -> Tailer | None:
        """Nothing to read in this archive: close it, and do not look at it again."""
        log.debug("archive not read", source=self.name, path=path, reason=why)
        self._skip(key, os.fstat(fd))
        os.close(fd)
        return None

    def _skip(self, key: str, st: os.stat_result) -> None:
        """Never look at this archive again (an archive does not change; a new file that reuses
        its inode has another size or time, and is looked at: `_is_skipped`)."""
        self.skipped[key] = (st.st_size, st.st_mtime_ns)

    def _is_skipped(self, key: str, st: os.stat_result) -> bool:
        mark = self.skipped.get(key)
        if mark is None:
            return False
        if mark == (st.st_size, st.st_mtime_ns):
            return True
        del self.skipped[key]  # the inode holds another file now
        return False

    def _displace(self, rec: FileCheckpoint, path: str) -> None:
        """`rec`'s inode holds another file now: continue `rec` in a copy or an archive of
        its content, else count its unread bytes as gone and drop it."""
        if self._continue_in_copy(rec, path, "file's inode reused; reading the rest from a copy"):
            return
        self._lose(rec.path, max(0, rec.size - rec.offset), "gone")
        self.store.remove(rec)

    def _record_of(self, head: bytes) -> FileCheckpoint | object | None:
        """The checkpoint whose content this archive holds (its fingerprint matches the
        archive's first decompressed bytes), `_BUSY` when that content is still being read
        from its uncompressed file, None when no checkpoint matches."""
        digests: dict[int, str] = {}
        busy = False
        for rec in self.store.records():
            # (the archive's own key too: a plain file's checkpoint whose inode the archive now
            # has, freed when the file was deleted after compressing it and taken by the archive)
            if rec.source != self.name or not rec.fp_len or rec.fp_len > len(head):
                continue
            d = digests.get(rec.fp_len)
            if d is None:
                d = digests[rec.fp_len] = fingerprint.digest(head[:rec.fp_len])
            if d != rec.fp:
                continue
            reading = self.tailers.get(rec.key)
            if reading is not None and reading.record is rec:  # (a record set aside keeps a
                busy = True  # key another file may have now: that one is not this content)
                continue
            return rec
        return _BUSY if busy else None

    def _continue_in_archive(self, rec: FileCheckpoint, near: str) -> bool:
        """`rec`'s file is gone: read the rest of its content from an archive of it in the
        same folder, if there is one (compressed after rotation)."""
        for path, st in identity.entries(os.path.dirname(near)):
            if fingerprint.file_key(st) in self.tailers or self._is_skipped(fingerprint.file_key(st), st):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fmt = compressed.sniff(fd)
                match = fmt is not None and rec.fp_len > 0 and fingerprint.digest(
                    compressed.head(fd, fmt, rec.fp_len)) == rec.fp
            finally:
                os.close(fd)
            if match and self._discover(path, st, initial=False, rotated=True) is not None:
                adopted = self.store.get(fingerprint.file_key(st))
                if adopted is rec:
                    return True
        return False

    def _archive_broken(self, t: Tailer) -> None:
        """`t`'s archive cannot be read further: count the rest as lost and release it."""
        try:
            csize = os.fstat(t.fd).st_size if t.fd is not None else 0
        except OSError:
            csize = 0
        lost = max(0, t.expected_size - t.pos)
        log.warning("archive cut short or corrupt; what decoded was delivered, the rest is lost",
                    source=self.name, path=t.path, format=t.fmt, error=t.broken, offset=t.pos,
                    lost=lost if t.expected_size else "unknown")
        self.stats.broken_archives += 1
        self._lose(t.path, lost, "corrupt")
        t.archive_done = True
        self.store.update(t.record, size=t.pos, csize=csize)
        if t.fd is not None:
            self._skip(t.key, os.fstat(t.fd))
        self._retire(t)

    def _archive_read(self, t: Tailer) -> None:
        """`t`'s archive is read to its end: record its size (a later run skips it) and never
        look at it again in this one."""
        if t.fd is not None:
            st = os.fstat(t.fd)
            self.store.update(t.record, size=t.pos, csize=st.st_size)
            self._skip(t.key, st)
