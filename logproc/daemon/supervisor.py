"""The supervisor: owns the lifecycle and is the only place that acts on signals.

The running parts belong to the `Pipeline` (`logproc.pipeline.pipeline`); the supervisor
drives it and owns what is about the process: signals, systemd notifications, the config
file watch, liveness, the metrics server, the exit code.

States: STARTING → RUNNING → DRAINING → STOPPED. The main thread waits on the signal
receiver with a timeout and on SIGTERM / SIGINT (or the end of a `--once` run) drains
with one deadline:

1. stop the sources and close the queue (no new batches; what was read but not queued
   stays unacknowledged in its input);
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

from logproc import metrics
from logproc.daemon import liveness
from logproc.daemon.config_watch import ConfigWatcher
from logproc.daemon.progress import Progress
from logproc.daemon.signals import Control, SignalReceiver
from logproc.daemon.systemd import Notifier
from logproc.log import get_logger
from logproc.masking import mask
from logproc.pipeline.events import events_lost
from logproc.pipeline.pipeline import Pipeline

if TYPE_CHECKING:
    from logproc.config.loader import LoadedConfig
    from logproc.pipeline.build import Topology
    from logproc.pipeline.committer import Committer
    from logproc.pipeline.consumers import Consumer

log = get_logger("supervisor")

STATUS_INTERVAL = 5.0  # seconds between systemd STATUS= updates


class Phase(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


class Supervisor:
    def __init__(self, loaded: LoadedConfig, once: bool = False, progress: bool = False,
                 signals: SignalReceiver | None = None) -> None:
        self.once = once
        self.show_progress = progress
        self.phase = Phase.STARTING
        # the command installs its handlers before loading anything (a SIGTERM at start-up
        # is then recorded, not fatal); in-process users get a receiver installed by run()
        self.signals = signals or SignalReceiver()
        self._own_signals = signals is None  # closed when an in-process stop ends
        self.pipeline = Pipeline(loaded, once=once)
        self.config_watch: ConfigWatcher | None = None
        self.notifier = Notifier()
        self._stall = liveness.stall_seconds()
        self._next_ping = self._next_status = 0.0
        self._withheld = False  # watchdog pings withheld because the pipeline is stuck
        self._status_mark = (time.monotonic(), 0)

    @property
    def loaded(self) -> LoadedConfig:
        return self.pipeline.loaded

    @property
    def topo(self) -> Topology:
        return self.pipeline.topo

    @property
    def consumers(self) -> list[Consumer]:
        return self.pipeline.consumers

    @property
    def committer(self) -> Committer:
        return self.pipeline.committer

    # -- running -----------------------------------------------------------------------
    def run(self) -> int:
        """Start, act on signals until shutdown (or the end of `--once`); the exit code."""
        if not self.signals.installed:
            self.signals.install()
        try:  # bound before the pipeline starts: a taken port exits 1 having read nothing
            server = None if self.once else metrics.bind(self, self.loaded.config.daemon.metrics_address)
        except OSError:
            return 1
        self.start()
        if server is not None:
            server.serve(self)
        try:
            return self._loop()
        finally:
            if server is not None:
                server.stop()
            self.pipeline.kill_workers()  # closed by the drain; whatever path led here

    def start(self) -> None:
        """Start every thread and wait until every source is ready (no signals installed:
        in-process users such as tests call `shutdown()` or `crash()` themselves)."""
        self.pipeline.start()
        if not self.once and self.loaded.config.daemon.watch_config:
            self.config_watch = ConfigWatcher(self.loaded.path, lambda: self.signals.post(Control.RELOAD))
            self.config_watch.start()
        topo = self.topo
        self.phase = Phase.RUNNING
        statuses = [s.status() for s in topo.sources.values()]
        log.info("started", sources=len(topo.sources), sinks=len(topo.runners),
                 files=sum(st.watched for st in statuses if st.unit == "files"), once=self.once,
                 workers=0 if topo.pool is None else len(topo.pool.workers))
        self.notifier.notify("READY=1", "STATUS=watching")

    def shutdown(self) -> int:
        """Graceful shutdown from another thread of this process (what SIGTERM does)."""
        try:
            return self._drain()
        finally:
            if self._own_signals:
                self.signals.close()

    def crash(self) -> None:
        """Stop everything abruptly with no final commit: the state on disk is what a
        SIGKILL would leave (for in-process tests; the sinks may finish a write first)."""
        if self.config_watch is not None:
            self.config_watch.stop()
        self.pipeline.crash()
        self.phase = Phase.STOPPED
        if self._own_signals:
            self.signals.close()

    def _loop(self) -> int:
        topo = self.topo
        progress = Progress(topo, sys.stderr) if self.show_progress else None
        ping = 0.0 if self.once else self.notifier.watchdog_interval()
        tick = min(STATUS_INTERVAL, ping) if ping else STATUS_INTERVAL
        while True:
            self._heartbeat()
            for control, signum in self.signals.wait(0.02 if self.once else tick):
                if control is Control.SHUTDOWN:
                    log.info("received signal indicating shutdown", signal=signum)
                    return self._drain()
                if control is Control.REOPEN:
                    log.info("received signal indicating reopen", signal=signum)
                    for r in topo.runners.values():
                        r.request_reopen()
                elif control is Control.RELOAD:
                    log.info("received signal indicating reload" if signum else "config file changed",
                             signal=signum or None)
                    if self._reload() == "signal":
                        log.info("shutdown requested during the reload")
                        return self._drain()
            if progress is not None:
                progress.update()
            if self.once and self.pipeline.sources_done:
                code = self._drain()
                if progress is not None:
                    progress.finish()
                return code

    def _reload(self) -> str:
        """Load and validate the config file again; apply it by difference (see `reload`)."""
        from logproc.config import load
        from logproc.daemon import reload
        from logproc.errors import ConfigErrors

        digest = self.config_watch.digest() if self.config_watch is not None else None
        try:
            new = load(self.loaded.path)
        except ConfigErrors as exc:
            for issue in exc.issues:
                log.error("invalid config, not reloaded", problem=str(issue))
            log.error("reload refused; the running config stays", problems=len(exc.issues))
            if self.config_watch is not None:
                self.config_watch.remember(digest)
            return "refused"
        self.notifier.reloading()
        outcome = reload.apply(self.pipeline, new, self._wait)
        if outcome != "signal":
            self.notifier.notify("READY=1", "STATUS=" + self.status(time.monotonic()))
        if self.config_watch is not None:
            self.config_watch.remember(digest)  # what was read, not what is there now
        return outcome

    def _heartbeat(self) -> None:
        """Dead letters not logged yet (rate-limited), the watchdog ping (only while the
        pipeline is healthy) and the status line."""
        self.topo.dead_letters.flush_log()
        if self.once or not self.notifier.enabled:
            return
        now = time.monotonic()
        ping = self.notifier.watchdog_interval()
        if ping and now >= self._next_ping:
            # draining: threads end on purpose; the drain has its own deadline. Only stuck or
            # dead threads withhold the ping: a restart cures those, not a refusing endpoint
            wrong = self.stuck() if self.phase is Phase.RUNNING else []
            if wrong:
                if not self._withheld:
                    log.error("pipeline is stuck; withholding the systemd watchdog ping", problems=wrong)
                self._withheld = True
            else:
                if self._withheld:
                    log.info("pipeline moves again; watchdog pings resume")
                self._withheld = False
                self.notifier.notify("WATCHDOG=1")
            self._next_ping = now + ping
        if now >= self._next_status:
            self.notifier.notify("STATUS=" + self.status(now))
            self._next_status = now + STATUS_INTERVAL

    @property
    def events_lost(self) -> int:
        """inotify queue overflows seen (each one: file events lost, every source rescans)."""
        return events_lost.count

    def stuck(self) -> list[str]:
        """Threads dead or stuck in one call (see `liveness`): what the watchdog is for."""
        return liveness.problems(self.topo.sources.values(), self.consumers, self.topo.runners.values(),
                                 self.committer, self._stall)

    def refusing(self) -> list[str]:
        """Sinks whose destination refuses every entry (all dead-lettered), with the reason."""
        return [f"sink {r.name!r} refuses every entry ({r.stats.last_refusal}); they go to the "
                "dead-letter file" for r in self.topo.runners.values() if r.stats.refusing]

    def problems(self) -> list[str]:
        """What is wrong with the running pipeline (`/health`): stuck or dead threads, and
        sinks that refuse everything; empty when healthy. Masked: it is shown to clients."""
        return [mask(p) for p in self.stuck() + self.refusing()]

    def status(self, now: float) -> str:
        """`STATUS=` text: entries written per second since the last one, queue, lag."""
        written = sum(r.stats.entries_written for r in self.topo.runners.values())
        last_t, last_n = self._status_mark
        rate = (written - last_n) / (now - last_t) if now > last_t else 0.0
        self._status_mark = (now, written)
        statuses = [s.status() for s in self.topo.sources.values()]
        lag = sum(st.lag for st in statuses)
        files = sum(st.watched for st in statuses if st.unit == "files")
        text = (f"{rate:.0f} entries/s, queue {self.topo.queue.depth}/{self.topo.queue.capacity}, "
                f"lag {lag} bytes, {files} files")
        refusing = [r.name for r in self.topo.runners.values() if r.stats.refusing]
        if refusing:
            text += f"; refusing: {', '.join(refusing)} (dead letters)"
        return text

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
        self.pipeline.stop_sources()
        if self.config_watch is not None:
            self.config_watch.stop()
        outcome = self.pipeline.drain(deadline, self._wait)
        self._commit()
        self.phase = Phase.STOPPED
        topo.dead_letters.flush_log(force=True)
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
            # counters that only some kinds have (journal entries lost, receiver drops) are
            # shown when they are not zero
            extra = {key: n for key, n in (("entries_lost", sum(st.lost_entries.values())),
                                           ("dropped", sum(st.dropped.values()))) if n}
            log.info("source stats", source=name, lines_read=st.lines, bytes_read=st.bytes,
                     bytes_acked=acked.get(name, 0), bytes_lost_truncated=st.lost.get("truncated", 0),
                     bytes_lost_gone=st.lost.get("gone", 0), bytes_lost_corrupt=st.lost.get("corrupt", 0),
                     broken_archives=st.broken_archives,
                     empty_lines=st.empty, pieces=st.pieces, files_watched=s.status().watched, **extra)
        for name, r in self.topo.runners.items():
            rs = r.stats
            # duplicates the destination dropped by the entries' ids: shown when there are some
            dups = {"duplicates": r.sink.duplicates} if r.sink.duplicates else {}
            log.info("sink stats", sink=name, entries_written=rs.entries_written, errors=rs.errors,
                     retries=rs.retries, dropped_sink_full=rs.dropped_full,
                     dropped_min_level=rs.dropped_min_level, dropped_filter=rs.dropped_filter,
                     dead_lettered=rs.dead_lettered, **dups)

    def _wait(self, done: Callable[[], bool], deadline: float) -> str:
        """Wait for `done` (a drain or reload step): "ok", "deadline", or "signal" when a
        shutdown is asked for. The watchdog keeps being fed meanwhile, and other controls
        (reload, reopen) are kept for the main loop, not dropped."""
        later: list[Control] = []
        try:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return "deadline"
                self._heartbeat()
                for control, _ in self.signals.wait(min(0.01, left)):
                    if control is Control.SHUTDOWN:
                        return "signal"
                    later.append(control)
            return "ok"
        finally:
            if self.phase is not Phase.DRAINING:
                for control in later:
                    self.signals.post(control)
