"""The running `journald` source: one thread that follows a journalctl child (see
`journal` for why a child) and queues its JSON lines in batches.

Contract:
- Position: the checkpoint is the cursor of the last entry delivered (a
  `CursorCheckpoint`, advanced by acknowledgements only, like a file offset). The thread
  itself keeps `position`, the cursor of the last entry *queued*: a restarted child
  resumes after it, so nothing queued is queued again and nothing is skipped. A reload
  hands `position` to the replacement.
- Where a start begins: after the handed-over position; else after the checkpoint's
  cursor; else (a first start) the oldest entry (`start_at = "beginning"`) or after the
  newest one (`"end"`: its cursor is stored as the checkpoint at once, so a restart
  before any entry arrives does not skip what was written meanwhile).
- Vacuum and rotation: before following after a cursor, the thread asks journalctl
  whether that entry still exists. When it does not (vacuumed, or the journal files were
  replaced), reading starts at the oldest entry, a warning names the source, and
  `stats.lost_entries["vacuumed"]` grows by the entries known skipped: the gap in
  sequence numbers between the cursor and the oldest entry when both are of one series
  and the source has no `units`/`match` (the gap counts entries of every unit); else 1,
  one loss of unknown size. (Without the probe, journalctl seeks a missing cursor by
  time and would silently skip entries whose clock is earlier.)
- A child that dies is restarted after a warning: 1 s later, doubling up to 30 s while
  it keeps dying without printing an entry. `run --once` reads to the end (no
  `--follow`) and returns; a failure there is a read error (exit 1).
- No journal: with no `directory` and no journal files on this machine (containers),
  one info line says the source stays idle, and it does until stopped (`--once`: it
  ends). Journal files this user cannot read, or no journalctl: one error, idle, a read
  error.
- Batches: at most `MAX_BATCH` entries (fewer when the pipeline asks for smaller ones:
  `SourceContext.batch_lines`), or what arrived within `LINGER` of the first,
  so other sources' batches interleave by priority. Stream `NAME/journal`, path
  "journald", lines the raw JSON (parsed in the consumers), `end` the batch's last cursor.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logproc.batch import Batch
from logproc.errors import QueueClosed
from logproc.log import get_logger
from logproc.sources.base import Source, SourceStatus
from logproc.sources.journald import journal
from logproc.sources.journald.child import Child

if TYPE_CHECKING:
    from logproc.sources.journald.config import JournaldSourceConfig
    from logproc.sources.kind import SourceContext

MAX_BATCH = 500  # entries per batch at most
LINGER = 0.05  # seconds a batch waits for more entries after its first
WAIT = 0.2  # seconds between looks at `stop` while nothing arrives
PUT_WAIT = 0.25  # seconds between looks at `stop` while the queue is full
BACKOFF, MAX_BACKOFF = 1.0, 30.0  # seconds before restarting a child that died

log = get_logger("source")


@dataclass(frozen=True, slots=True)
class Handover:
    """Where the replaced source stopped queueing: after `after` (None: the oldest entry)."""

    after: str | None


class JournaldSource(Source):
    kind = "journald"

    def __init__(self, name: str, cfg: JournaldSourceConfig, ctx: SourceContext) -> None:
        Source.__init__(self, name, cfg, ctx.stats)
        self.cfg: JournaldSourceConfig = cfg
        self.queue = ctx.queue
        self.store = ctx.store
        self.once = ctx.once
        self.record = ctx.store.cursor(name)
        self.stream = f"{name}/journal"
        self.taken_over: Handover | None = ctx.handover if isinstance(ctx.handover, Handover) else None
        self.position: str | None = None  # cursor of the last entry queued (None: from the oldest)
        self.placed = False  # `position` is known (the start was decided)
        self.child: Child | None = None
        # the pipeline's batch size when sources differ in priority (0: no limit of its own)
        self.max_batch = min(MAX_BATCH, ctx.batch_lines) if ctx.batch_lines else MAX_BATCH

    # -- what the pipeline reads -------------------------------------------------------
    def status(self) -> SourceStatus:
        child = self.child
        following = child is not None and child.returncode is None
        return SourceStatus(watched=int(following), unit="journals")

    def handover(self) -> Handover | None:
        return Handover(self.position) if self.placed else None

    # -- the thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            exe = self._usable()
            if exe is None:
                self.ready.set()
                if not self.once:
                    self._stop.wait()
                return
            self._place(exe)
            self._follow(exe)
        except QueueClosed:
            pass
        except Exception:
            log.exception("journal source failed", source=self.name)
            raise
        finally:
            self.ready.set()
            self._end_child()

    def _usable(self) -> str | None:
        """journalctl, or None (logged) when there is nothing this source can read."""
        if self.cfg.directory is None:
            files = journal.system_journal_files()
            if not files:
                log.info(f"no systemd journal on this machine; source '{self.name}' stays idle",
                         source=self.name)
                return None
        else:
            d = self.cfg.directory
            try:
                files = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".journal")]
            except OSError as exc:
                log.error("cannot read the journal folder; the source stays idle", source=self.name,
                          directory=d, error=exc.strerror or str(exc))
                self.read_errors += 1
                return None
        exe = journal.journalctl()
        if journal.unreadable(files):
            log.error("cannot read the systemd journal: permission denied (the user running "
                      "logproc needs the systemd-journal or adm group); the source stays idle",
                      source=self.name, directory=self.cfg.directory or "system journal")
        elif exe is None:
            log.error("journalctl not found; the source stays idle", source=self.name)
        else:
            return exe
        self.read_errors += 1
        return None

    def _place(self, exe: str) -> None:
        """Decide where reading begins (see the module doc)."""
        if self.taken_over is not None:
            self.position = self.taken_over.after
        elif self.record.cursor:
            self.position = self.record.cursor
        elif self.cfg.start_at == "end":
            try:
                self.position = journal.tail_cursor(exe, self.cfg)
            except (OSError, TimeoutError) as exc:
                log.warning("cannot find the end of the journal; reading from its oldest entry",
                            source=self.name, error=str(exc))
            if self.position is not None:
                self.store.advance(self.record, self.position, "")
        self.placed = True
        log.info("reading the journal", source=self.name, after=self.position or "the oldest entry",
                 directory=self.cfg.directory or "system journal")

    def _open(self, exe: str) -> Child:
        """A child reading after `position`, checked to exist first (see the module doc)."""
        after = self.position
        if after is not None:
            exists, found = journal.cursor_exists(exe, self.cfg, after)
            if not exists:
                gap = journal.skipped_between(after, found) if found and not self.cfg.matches() else None
                lost = 1 if gap is None else gap
                lost_entries = self.stats.lost_entries
                lost_entries["vacuumed"] = lost_entries.get("vacuumed", 0) + lost
                log.warning("the journal no longer holds the last entry read (vacuumed or "
                            "rotated away); reading from its oldest entry", source=self.name,
                            cursor=after, lost_entries=lost, counted="exact" if gap is not None
                            else "one loss of unknown size")
                after = self.position = None
        return Child(journal.follow_args(exe, self.cfg, after, follow=not self.once), self.name)

    def _follow(self, exe: str) -> None:
        backoff = BACKOFF
        while not self._stop.is_set():
            try:
                self.child = child = self._open(exe)
            except OSError as exc:
                log.error("cannot start journalctl", source=self.name, error=str(exc), seconds=backoff)
                if self.once:
                    self.read_errors += 1
                    return
                self.ready.set()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            self.ready.set()
            read = 0
            while not self._stop.is_set():
                lines = child.lines(self.max_batch, LINGER, WAIT)
                if lines:
                    if not self._queue(lines):
                        return
                    read += len(lines)
                elif child.ended:
                    break
            if self._stop.is_set():
                return
            code = self._end_child()
            if self.once:
                if code != 0:
                    self.read_errors += 1
                    log.error("journalctl failed", source=self.name, exit_code=code,
                              reason=" / ".join(child.errors) or None)
                return
            backoff = BACKOFF if read else min(backoff * 2, MAX_BACKOFF)
            log.warning("journalctl ended; restarting it", source=self.name, exit_code=code,
                        reason=" / ".join(child.errors) or None, seconds=backoff,
                        after=self.position or "the oldest entry")
            self._stop.wait(backoff)

    def _queue(self, lines: list[bytes]) -> bool:
        """Put one batch on the queue (waiting while it is full); False when stopped first
        (the batch is then not queued and `position` stays)."""
        end = next((c for c in map(journal.cursor_of, reversed(lines)) if c), None)
        start = journal.cursor_of(lines[0])
        batch = Batch(self.name, self.stream, "journald", lines, start, end, time.time(),
                      self.cfg.priority, record=self.record if end is not None else None)
        while not self.queue.put(batch, timeout=PUT_WAIT):
            if self._stop.is_set():
                return False
        self.stats.lines += len(lines)
        self.stats.bytes += sum(map(len, lines)) + len(lines)
        if end is not None:
            self.position = end
        return True

    def _end_child(self) -> int | None:
        child, self.child = self.child, None
        return child.close() if child is not None else None
