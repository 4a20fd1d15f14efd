"""Recovery: what the `file` source does when a file is not simply growing.

- while running: a file that shrank or was rewritten under us (`truncated`) continues in
  its copytruncate copy when one is beside it (same first bytes, same bytes before our
  position), else it is read again from its start and the unread bytes are counted lost;
  a new file that looks like a copy still being made waits for that truncation
  (`looks_like_copy`) instead of being read twice;
- at start-up: a checkpointed file no longer at its path is found by inode in its folder
  and read to its end (`reconcile`), one truncated or rewritten while we were stopped is
  finished from its copy (`recover_from_copy`), and rotated generations that appeared
  unseen are read (`find_generations`) — after every record has been resolved, so that a
  copy is never mistaken for a new generation.

A mixin of `FileSource`: it works on the source's tailers, checkpoint store and discovery.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.log import get_logger
from logproc.sources.file import fingerprint, identity
from logproc.sources.file.tailer import ROTATE_WAIT, State, Tailer

if TYPE_CHECKING:
    from logproc.sources.file.config import FileSourceConfig as SourceConfig

log = get_logger("source")

COPY_WAIT = 2.0  # seconds a truncated file waits for its copy to show before its loss is counted


class Recovery:
    name: str
    cfg: SourceConfig
    store: CheckpointStore
    tailers: dict[str, Tailer]
    finished: dict[str, int]  # key -> position handed out by a released tailer (see FileSource)
    deferred: dict[str, float]
    skipped: dict[str, tuple[int, int]]
    once: bool
    started_wall: float
    ids: bool  # give lines' offsets (a sink uses the entries' ids)
    rewritten: list[tuple[str, float]]  # (path, last delivery) of files copytruncated while stopped

    if TYPE_CHECKING:
        def _continue_in_archive(self, rec: FileCheckpoint, near: str) -> bool: ...

        def _is_skipped(self, key: str, st: os.stat_result) -> bool: ...

        def _discover(self, path: str, st: os.stat_result, initial: bool,
                      rotated: bool = False) -> Tailer | None: ...

        def _lose(self, path: str, nbytes: int, reason: str) -> None: ...

    def _looks_like_copy(self, path: str, fd: int, key: str) -> bool:
        """A new file that starts like one we tail may be a copytruncate copy in the making:
        wait up to ROTATE_WAIT for the truncation that tells, instead of reading it twice.
        (Two unrelated files with the same first bytes are both read, the second 5 s late;
        a new empty file is read once it has content.)"""
        if self._copy_of_tailed(fd, key):
            first = self.deferred.setdefault(path, time.monotonic())
            return time.monotonic() - first < ROTATE_WAIT
        self.deferred.pop(path, None)
        return False

    def _copy_of_tailed(self, fd: int, key: str) -> bool:
        """Could this file be a copy of a tailed file, made but not yet truncated?

        An empty file could be one that `cp` just created. Otherwise its first n bytes
        (n = min(size, FP_BYTES)) must equal a tailed file's: all covered by that file's
        fingerprint, or, when the fingerprint is shorter (the file grew since), compared
        with the tailed file itself — or that file shrank below what we read or saw (the copy was
        made and the truncation came after this pass looked at it; the next pass claims
        the copy). A fingerprint of a few bytes alone proves nothing: every line may start
        with the same timestamp or `seq=`. (Limit: a copy caught part-written, shorter
        than the fingerprint, is not recognised; `cp` writes the first block in one call,
        so that window is tiny.)"""
        known = [t for t in self.tailers.values() if t.key != key and t.record.fp_len]
        head = os.pread(fd, fingerprint.FP_BYTES, 0)
        if not head:
            return any(t.fd is not None for t in known)
        n = len(head)
        digests: dict[int, str] = {}
        for t in known:
            fp_len = t.record.fp_len
            if fp_len > n:
                continue
            d = digests.get(fp_len)
            if d is None:
                d = digests[fp_len] = fingerprint.digest(head[:fp_len])
            if d == t.record.fp and (fp_len == n or (t.fd is not None and (
                    os.pread(t.fd, n, 0) == head or os.fstat(t.fd).st_size < max(t.pos, t.seen_size)))):
                # (the last: truncated since our stat pass looked, below what we read or saw
                # (not read yet: reading waited, or a restart); the next pass tells)
                return True
        return False

    def _truncated(self, t: Tailer) -> None:
        """`t`'s file shrank or was rewritten under it: finish from a copy, or count the loss."""
        old_key = t.key
        copy = identity.find_copy(os.path.dirname(t.path), t.record.fp_len, t.record.fp, t.emitted,
                                  t.emitted_tail, exclude={old_key} | set(self.tailers))
        at_stake = max(t.seen_size, t.pos) > t.emitted
        if copy is None and at_stake and t.fd is not None and not self.once:
            # bytes not delivered yet and no copy in sight: the copy may be between two names
            # (renamed, or compressed and its plain file deleted while we listed the folder).
            # Look again on the next passes, reading nothing meanwhile, before counting a loss.
            now = time.monotonic()
            t.copy_wait_since = t.copy_wait_since or now
            if now - t.copy_wait_since < COPY_WAIT:
                return
        t.copy_wait_since = 0.0
        fresh = FileCheckpoint(t.dev, t.ino, 0, fingerprint.digest(b""), 0, t.path, self.name,
                               updated=time.time())
        if copy is not None and t.fd is not None:
            cpath, cfd, cst, fmt = copy
            log.info("copytruncate detected; reading the rest from the copy", source=self.name,
                     path=t.path, copy=cpath, offset=t.emitted)
            new = Tailer(self.name, t.path, os.dup(t.fd), os.fstat(t.fd), fresh, self.store,
                         self.cfg.max_line_bytes, self.cfg.priority, self.cfg.multiline,
                         offsets=self.ids)
            # the copies of several truncations between two passes (rotations faster than
            # our look, or during an outage): the generation scan finds the ones in between
            t.rotated_from = t.path
            if fmt:
                t.expected_size = t.seen_size
            t.switch_to(cpath, cfd, cst, fmt)
            self.deferred.pop(cpath, None)
            del self.tailers[old_key]
            self.tailers[t.key] = t
            self.tailers[old_key] = new
        else:
            lost = max(t.seen_size, t.pos) - t.emitted
            self._lose(t.path, lost, "truncated")
            log.warning("file truncated; reading it again from the start", source=self.name, path=t.path)
            t.restart(fresh)
        self.store.put(fresh)

    def _recover_from_copy(self, rec: FileCheckpoint, path: str) -> None:
        """At start-up, `rec`'s file was truncated or rewritten while we were stopped: read
        what it held past the checkpoint from its copy, if one is beside it (and, once every
        checkpoint is resolved, the copies of later truncations: `_reconcile`)."""
        self.rewritten.append((path, rec.updated))
        if self._continue_in_copy(rec, path, "copytruncate happened while stopped"):
            return
        lost = max(0, rec.size - rec.offset)
        if lost:
            self._lose(path, lost, "truncated")
        log.warning("file truncated or rewritten since it was last read; reading it from the start",
                    source=self.name, path=path, offset=rec.offset)
        self.store.remove(rec)

    def _continue_in_copy(self, rec: FileCheckpoint, path: str, why: str) -> bool:
        """Find a copy of `rec`'s content beside `path` and read it from `rec`'s offset."""
        if not rec.offset:
            return False
        copy = identity.find_copy(os.path.dirname(path), rec.fp_len, rec.fp, rec.offset, rec.tail_hash,
                                  {rec.key} | set(self.tailers))
        if copy is None:
            return False
        cpath, cfd, cst, fmt = copy
        # handed out before under its old inode and not acknowledged yet (a released tailer's
        # last batches, held up by a sink): not again
        start = max(rec.offset, self.finished.pop(rec.key, 0))
        log.info(f"{why}; reading the rest from the copy", source=self.name, path=path, copy=cpath,
                 offset=start, format=fmt)
        self.store.update(rec, dev=cst.st_dev, ino=cst.st_ino, path=cpath, gone_since=0.0, fmt=fmt or "",
                          csize=0)
        t = Tailer(self.name, cpath, cfd, cst, rec, self.store, self.cfg.max_line_bytes,
                   self.cfg.priority, self.cfg.multiline, fmt=fmt, offsets=self.ids)
        if start > rec.offset:
            t.pos = t.emitted = start
            t.emitted_tail = ""
        if fmt:
            t.expected_size = rec.size  # its file's size when last seen: what a break would lose
        t.state = State.ROTATED
        t.rotated_at = time.monotonic() - ROTATE_WAIT
        self.tailers[t.key] = t
        return True

    def _reconcile(self, matched: set[str]) -> None:
        """At start-up: checkpointed files of this source that are not where they were.

        Every record is found again (and its truncation or copy resolved) before any
        generation is read as a new file: otherwise a copytruncate copy made while we were
        stopped could be taken for a new generation and read from its start, before the
        record that knows how far it was read claims it."""
        moved: list[tuple[str, float]] = []
        by_inode: list[tuple[FileCheckpoint, str, str]] = []  # (checkpoint, was, found at)
        for rec in self.store.records():
            reading = self.tailers.get(rec.key)
            if rec.source != self.name or (reading is not None and reading.record is rec):
                continue
            if self.store.get(rec.key) is not rec:
                # set aside: another file took its inode (logrotate's archive, a copy). Its
                # content is looked for by content only: in a copy or an archive beside
                moved.append((rec.path, rec.updated))
                if rec.offset < rec.size and not self._continue_in_copy(
                        rec, rec.path, "file's inode reused; reading the rest from a copy") \
                        and not self._continue_in_archive(rec, rec.path):
                    self._lose(rec.path, rec.size - rec.offset, "gone")
                    self.store.remove(rec)
                continue
            try:
                at_path = os.stat(rec.path)
            except OSError:
                at_path = None
            if at_path is not None and fingerprint.file_key(at_path) == rec.key:
                # still where we last saw it, outside the globs: a rotated file or a copy
                # we were reading when we stopped; read it to its end
                # (an archive's sizes are compressed ones: its adoption tells whether it is done)
                if rec.path not in matched and (at_path.st_size > rec.offset or rec.fmt):
                    log.info("finishing a rotated file", source=self.name, path=rec.path)
                    self._discover(rec.path, at_path, initial=False, rotated=True)
                continue
            was, since = rec.path, rec.updated  # (discovery below moves rec.path)
            moved.append((was, since))
            path = identity.find_by_inode(os.path.dirname(was), rec.dev, rec.ino)
            if path is not None and path not in matched and not rec.gone_since:
                # (a checkpoint whose file was deleted finds, under its inode, another file
                # that reused it: that file is found by its content or as a new file)
                by_inode.append((rec, was, path))
            elif path is None and not rec.gone_since and not self._continue_in_copy(
                    rec, was, "file copied (copytruncate) and then deleted while stopped") \
                    and not self._continue_in_archive(rec, was):
                self._lose(was, max(0, rec.size - rec.offset), "gone")
                self.store.update(rec, gone_since=time.time())
        # Files found under a checkpoint's inode are adopted once the loop above resolved
        # every truncation, and those whose checkpoint knows more content first: a copy that
        # took the inode of a deleted file is claimed by the checkpoint whose content it holds
        # (from its offset), not by the deleted file's checkpoint, whose short fingerprint
        # (a few bytes such as "seq=") can match any file (the copy was read twice).
        for _rec, was, path in sorted(by_inode, key=lambda item: -item[0].fp_len):
            try:
                st = os.stat(path)
            except OSError:
                continue
            if fingerprint.file_key(st) in self.tailers:
                continue  # claimed meanwhile, as the copy of another checkpoint
            log.info("found rotated file by inode", source=self.name, was=was, path=path)
            self._discover(path, st, initial=False, rotated=True)
        for was, since in moved + self.rewritten:
            self._find_generations(was, since)
        self.rewritten.clear()

    def _find_generations(self, path: str, since: float) -> None:
        """Rotated generations of `path` that appeared unseen: read them (from their
        checkpoint if they have one, else from the start)."""
        for gpath, st in identity.generations(path, since):
            key = fingerprint.file_key(st)
            if key in self.tailers or self._is_skipped(key, st):
                continue
            log.info("found rotated generation", source=self.name, path=gpath)
            self._discover(gpath, st, initial=False, rotated=True)
