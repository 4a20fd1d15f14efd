"""The running pipeline, and its one owner.

    sources (a thread each) → BatchQueue → consumers → SinkRunner (a thread each)
                                               ↓ acks
                              AckTracker → CheckpointStore ← Committer (a thread)

`Pipeline` owns every running part: the sources, the queue, the consumer threads, the
sink runners, the worker processes, the folder events and the committer (the shared
wiring is a `Topology`, see `build`). The supervisor owns the lifecycle (signals,
systemd, config watch, liveness) and talks to the pipeline through these methods only:

- `start()`: every thread; returns once every source is ready (READY=1 follows);
- `stop_sources()`: sources stop reading, the queue closes (what was read but not queued
  stays unacknowledged in its input);
- `drain(deadline, wait)`: consumers empty the queue, sinks write, flush and close;
  "ok", "deadline" or "signal" (`wait` is the supervisor's: it keeps the watchdog fed and
  answers "signal" on a second SIGTERM). Past it the sinks are told to give up;
- `apply(diff, new, wait)`: a reload, by difference (see `reload`);
- `crash()`: stop abruptly with no final commit (what SIGKILL leaves; for tests).

Checkpoints only ever hold acknowledged positions, so a commit at any point is consistent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from logproc.log import get_logger
from logproc.pipeline import alloc
from logproc.pipeline import build as topology
from logproc.pipeline.committer import Committer
from logproc.pipeline.consumers import Consumer
from logproc.pipeline.events import FolderEvents

if TYPE_CHECKING:
    from logproc.config.loader import LoadedConfig
    from logproc.pipeline.diff import ConfigDiff

log = get_logger("pipeline")

BEST_EFFORT_GRACE = 2.0  # seconds a when_full = "drop" sink gets to finish at shutdown

#: `wait(done, deadline)`: "ok" once `done()`, "deadline", or "signal" (shutdown asked for)
Wait = Callable[[Callable[[], bool], float], str]


class Pipeline:
    def __init__(self, loaded: LoadedConfig, once: bool = False) -> None:
        self.once = once
        self.topo = topology.build(loaded, once=once)
        pool = self.topo.pool
        n = loaded.config.daemon.consumers or (len(pool.workers) + 1 if pool is not None else 2)
        self.consumers = [Consumer(self.topo, i) for i in range(n)]
        self.events: FolderEvents | None = None
        self.committer = Committer(self.topo.store, loaded.config.daemon.checkpoint_interval)

    @property
    def loaded(self) -> LoadedConfig:
        return self.topo.loaded

    # -- starting ----------------------------------------------------------------------
    def start(self) -> None:
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
            self._watch_folders()
        for s in topo.sources.values():
            s.ready.wait()

    def _watch_folders(self) -> None:
        if self.events is not None:
            self.events.stop()
        self.events = FolderEvents(list(self.topo.sources.values()))
        self.events.start()

    @property
    def sources_done(self) -> bool:
        """Every source's thread ended (`--once`: everything was read)."""
        return not any(s.alive for s in self.topo.sources.values())

    # -- stopping ----------------------------------------------------------------------
    def stop_sources(self) -> None:
        topo = self.topo
        for s in topo.sources.values():
            s.stop()
        topo.queue.close()
        topo.gate.open()
        if self.events is not None:
            self.events.stop()

    def drain(self, deadline: float, wait: Wait) -> str:
        """After `stop_sources`: everything queued reaches the sinks, which write, flush and
        close. The committer stops; the caller makes the final commit."""
        topo = self.topo
        outcome = wait(lambda: self.sources_done, deadline)
        if outcome == "ok":
            outcome = wait(lambda: not any(c.thread.is_alive() for c in self.consumers), deadline)
        if outcome == "ok":
            if topo.pool is not None:  # idle now; one that does not end is killed in time
                topo.pool.close(max(0.1, min(5.0, deadline - time.monotonic())))
            for r in topo.runners.values():
                r.close()
            runners = [r for r in topo.runners.values() if not r.drop_when_full]
            outcome = wait(lambda: not any(r.thread.is_alive() for r in runners), deadline)
        if outcome == "ok":
            # best-effort sinks acknowledged at submission: a short grace, then abandoned
            best_effort = [r for r in topo.runners.values() if r.drop_when_full]
            grace = min(deadline, time.monotonic() + BEST_EFFORT_GRACE)
            if wait(lambda: not any(r.thread.is_alive() for r in best_effort), grace) != "ok":
                for r in best_effort:
                    if r.thread.is_alive():
                        r.abort()
                        log.warning("best-effort sink abandoned at shutdown", sink=r.name, entries=r.depth)
        if outcome != "ok":
            for r in topo.runners.values():
                r.abort()
            if topo.pool is not None:  # consumers may still hold workers: do not wait on them
                topo.pool.kill()
        self.committer.stop()
        return outcome

    def crash(self) -> None:
        """Stop everything abruptly with no final commit: the state on disk is what a
        SIGKILL would leave (the sinks may finish a write first)."""
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
        self.kill_workers()

    def kill_workers(self) -> None:
        """No worker process outlives the daemon, whatever path led to its end."""
        if self.topo.pool is not None:
            self.topo.pool.kill()

    # -- reload ------------------------------------------------------------------------
    def apply(self, diff: ConfigDiff, new: LoadedConfig, wait: Wait) -> str:
        """Apply a reload's difference: "ok", or why it was abandoned ("deadline", or
        "signal": the caller carries the shutdown out). See `reload` for the protocol."""
        from logproc.pipeline.reload import apply

        outcome = apply(self.topo, diff, new, wait)
        if outcome == "swapped":
            if not self.once:
                self._watch_folders()
            return "ok"
        if outcome == "restarted":  # abandoned: the stopped sources read on as they were
            if not self.once:
                self._watch_folders()
            return "deadline"
        return outcome
