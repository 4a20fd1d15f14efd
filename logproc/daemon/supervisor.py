"""The supervisor: owns the lifecycle and is the only place that acts on signals.

States: STARTING → RUNNING → DRAINING → STOPPED. The main thread waits on the signal
receiver with a timeout, commits checkpoints every `checkpoint_interval`, and on SIGTERM /
SIGINT (or the end of a `--once` run) drains with one deadline:

1. stop the watchers and close the queue (no new batches; what was read but not queued
   stays unacknowledged in its file);
2. consumers drain the queue and hand everything to the sinks;
3. sink runners write and flush what they hold, then close their sinks;
4. commit checkpoints and exit 0.

Past `shutdown_timeout`, or on a second SIGTERM/SIGINT, the sinks are told to give up,
checkpoints are committed as they stand — covering exactly what was acknowledged — and the
exit code is 1. The checkpoint store only ever holds acknowledged offsets, so any commit
is consistent.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from logproc.daemon import alloc, topology
from logproc.daemon.committer import Committer
from logproc.daemon.progress import Progress
from logproc.daemon.signals import Control, SignalReceiver
from logproc.daemon.systemd import Notifier
from logproc.daemon.watch import EventWatcher
from logproc.daemon.workers import Consumer
from logproc.log import get_logger

if TYPE_CHECKING:
    from logproc.config import LoadedConfig

log = get_logger("supervisor")

BEST_EFFORT_GRACE = 2.0  # seconds a when_full = "drop" sink gets to finish at shutdown


class Phase(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


class Supervisor:
    def __init__(self, loaded: LoadedConfig, once: bool = False, progress: bool = False) -> None:
        self.loaded = loaded
        self.once = once
        self.show_progress = progress
        self.phase = Phase.STARTING
        self.signals = SignalReceiver()
        self.topo = topology.build(loaded, once=once)
        self.consumers = [Consumer(self.topo, i) for i in range(loaded.config.daemon.consumers)]
        self.events: EventWatcher | None = None
        self.notifier = Notifier()
        self.committer = Committer(self.topo.store, loaded.config.daemon.checkpoint_interval)

    # -- running -----------------------------------------------------------------------
    def run(self) -> int:
        """Start, act on signals until shutdown (or the end of `--once`); the exit code."""
        self.signals.install()
        self.start()
        return self._loop()

    def start(self) -> None:
        """Start every thread and wait until every source is watching (no signals installed:
        in-process users such as tests call `shutdown()` or `crash()` themselves)."""
        topo = self.topo
        alloc.tune()
        if topo.pool is not None:  # first: the workers import while the rest starts
            topo.pool.start()
        self.committer.start()
        for r in topo.runners.values():
            r.start()
        for c in self.consumers:
            c.start()
        for s in topo.sources.values():
            s.start()
        if not self.once:
            self.events = EventWatcher(list(topo.sources.values()))
            self.events.start()
        for s in topo.sources.values():
            s.watching.wait()
        self.phase = Phase.RUNNING
        log.info("started", sources=len(topo.sources), sinks=len(topo.runners),
                 files=sum(s.files_watched for s in topo.sources.values()), once=self.once,
                 workers=0 if topo.pool is None else len(topo.pool.workers))
        self.notifier.notify("READY=1", "STATUS=watching")

    def shutdown(self) -> int:
        """Graceful shutdown from another thread of this process (what SIGTERM does)."""
        return self._drain()

    def crash(self) -> None:
        """Stop everything abruptly with no final commit: the state on disk is what a
        SIGKILL would leave (for in-process tests; the sinks may finish a write first)."""
        topo = self.topo
        for s in topo.sources.values():
            s.stop()
        topo.queue.close()
        for r in topo.runners.values():
            r.abort()
        if self.events is not None:
            self.events.stop()
        self.committer.stop()
        for t in ([s.thread for s in topo.sources.values()] + [c.thread for c in self.consumers]
                  + [r.thread for r in topo.runners.values()]):
            t.join(5)
        if topo.pool is not None:
            topo.pool.kill()
        self.phase = Phase.STOPPED

    def _loop(self) -> int:
        topo = self.topo
        progress = Progress(topo, sys.stderr) if self.show_progress else None
        while True:
            for control, signum in self.signals.wait(0.02 if self.once else 5.0):
                if control is Control.SHUTDOWN:
                    log.info("received signal indicating shutdown", signal=signum)
                    return self._drain()
                if control is Control.REOPEN:
                    log.info("received signal indicating reopen", signal=signum)
                    for r in topo.runners.values():
                        r.request_reopen()
                elif control is Control.RELOAD:
                    log.warning("reload is not supported yet; keeping the running config", signal=signum)
            if progress is not None:
                progress.update()
            if self.once and not any(s.thread.is_alive() for s in topo.sources.values()):
                code = self._drain()
                if progress is not None:
                    progress.finish()
                return code

    def _commit(self) -> None:
        try:
            self.topo.store.commit(force=True)
        except OSError as exc:
            log.error("checkpoint commit failed", error=str(exc), path=str(self.topo.store.path))

    # -- draining ----------------------------------------------------------------------
    def _drain(self) -> int:
        self.phase = Phase.DRAINING
        self.notifier.notify("STOPPING=1", "STATUS=draining")
        topo = self.topo
        deadline = time.monotonic() + self.loaded.config.daemon.shutdown_timeout
        for s in topo.sources.values():
            s.stop()
        topo.queue.close()
        if self.events is not None:
            self.events.stop()
        steps: list[tuple[str, Callable[[], bool]]] = [
            ("watchers", lambda: not any(s.thread.is_alive() for s in topo.sources.values())),
            ("consumers", lambda: not any(c.thread.is_alive() for c in self.consumers)),
        ]
        outcome = "ok"
        for what, done in steps:
            outcome = self._wait(done, deadline)
            if outcome != "ok":
                break
            if what == "consumers":
                if topo.pool is not None:
                    topo.pool.close()
                for r in topo.runners.values():
                    r.close()
        if outcome == "ok":
            runners = [r for r in topo.runners.values() if not r.drop_when_full]
            outcome = self._wait(lambda: not any(r.thread.is_alive() for r in runners), deadline)
        if outcome == "ok":
            # best-effort sinks acknowledged at submission: a short grace, then abandoned
            best_effort = [r for r in topo.runners.values() if r.drop_when_full]
            grace = min(deadline, time.monotonic() + BEST_EFFORT_GRACE)
            if self._wait(lambda: not any(r.thread.is_alive() for r in best_effort), grace) != "ok":
                for r in best_effort:
                    if r.thread.is_alive():
                        r.abort()
                        log.warning("best-effort sink abandoned at shutdown", sink=r.name,
                                    entries=r.depth)
        if outcome != "ok":
            for r in topo.runners.values():
                r.abort()
            if topo.pool is not None:  # consumers may still hold workers: do not wait on them
                topo.pool.kill()
        self.committer.stop()
        self._commit()
        self.phase = Phase.STOPPED
        self._log_stats()
        failed = sum(s.read_errors for s in topo.sources.values()) if self.once else 0
        if outcome == "deadline":
            log.error("shutdown timeout passed; checkpoints cover what was delivered",
                      timeout=self.loaded.config.daemon.shutdown_timeout)
            return 1
        if outcome == "signal":
            log.warning("second signal: stopped at once; checkpoints cover what was delivered")
            return 1
        if failed:
            log.error("finished with files that could not be read", files=failed)
            return 1
        log.info("stopped", delivered=sum(r.stats.entries_written for r in topo.runners.values()))
        return 0

    def _log_stats(self) -> None:
        acked = self.topo.store.acked
        for name, s in self.topo.sources.items():
            st = s.stats
            log.info("source stats", source=name, lines_read=st.lines, bytes_read=st.bytes,
                     bytes_acked=acked.get(name, 0), bytes_lost_truncated=st.lost.get("truncated", 0),
                     bytes_lost_gone=st.lost.get("gone", 0), empty_lines=st.empty, pieces=st.pieces,
                     files_watched=s.files_watched)
        for name, r in self.topo.runners.items():
            rs = r.stats
            log.info("sink stats", sink=name, entries_written=rs.entries_written, errors=rs.errors,
                     retries=rs.retries, dropped_sink_full=rs.dropped_full,
                     dropped_min_level=rs.dropped_min_level, dropped_filter=rs.dropped_filter,
                     dead_lettered=rs.dead_lettered)

    def _wait(self, done: Callable[[], bool], deadline: float) -> str:
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return "deadline"
            for control, _ in self.signals.wait(min(0.01, left)):
                if control is Control.SHUTDOWN:
                    return "signal"
        return "ok"
