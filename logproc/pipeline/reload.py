"""Reload, the pipeline's half: apply a config difference to the running parts.

Called through `Pipeline.apply` (the supervisor's half, `daemon.reload`, loaded and
validated the new config in full and computed the `ConfigDiff`; an invalid config never
gets here: its errors are logged and the old config keeps running).

1. Sources that are removed or changed stop reading (their threads end; what they
   read but did not queue stays in the file, unacknowledged).
2. The batches removed sources already queued are processed and acknowledged through the
   sinks as they are ("removed ones stop after their in-flight batches are acknowledged").
3. The consumers' gate closes and every sink runner drains its inbox: nothing is between
   the queue and the sinks any more. Unchanged sources keep reading meanwhile (the queue
   fills; backpressure, not loss).
4. Removed and changed sinks are closed (they hold nothing now), new and changed ones are
   built and started, the routes of every source are rebuilt, and new and changed sources
   start. A changed source takes over the old one's tailers, descriptors open (a rotated
   or deleted file still being read included): the same read position (the last line
   handed out) and the same stream, so per-file order in the queue and in the
   acknowledgements holds across the reload — nothing read twice, nothing skipped. Files
   that appear meanwhile are new files, not start-up ones (no `start_at = "end"`).
5. The gate opens.

Each wait has the reload deadline (`shutdown_timeout`). Past it — a sink that does not
accept entries — the reload is abandoned before anything was swapped: the old sources read
on (a source still running takes its stop back; an ended one is replaced through the same
hand-over), and the old config keeps running; the error is logged. Counters go on across
a reload (a changed source or sink keeps its stats). Limits: a renamed source is a new
source (checkpoints belong to a source name, so its files are read again from the
start); a removed sink that is down cannot be removed until it accepts its entries.
`[daemon]` settings are the daemon's half.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from logproc.log import get_logger
from logproc.pipeline import build as topology

if TYPE_CHECKING:
    from collections.abc import Callable

    from logproc.config.loader import LoadedConfig
    from logproc.pipeline.build import Topology
    from logproc.pipeline.diff import ConfigDiff

log = get_logger("reload")


def apply(topo: Topology, diff: ConfigDiff, new: LoadedConfig,
          wait: Callable[[Callable[[], bool], float], str]) -> str:
    """Apply `diff` (to `new`): "swapped", or why it was abandoned: "restarted" (the old
    config reads on) or "signal" (a shutdown request arrived; the caller carries it out).

    `wait(done, deadline)` is the supervisor's: "ok", "deadline" or "signal"."""
    old_cfg, new_cfg = topo.loaded.config, new.config
    deadline = time.monotonic() + old_cfg.daemon.shutdown_timeout
    stopping = [topo.sources[n] for n in diff.sources_removed + diff.sources_changed]
    for s in stopping:
        s.stop()
    outcome = wait(lambda: not any(s.alive for s in stopping), deadline)
    if outcome == "ok":
        # queued, leased to a consumer, or handed to sinks and not yet acknowledged
        outcome = wait(lambda: not any(topo.queue.pending(n) or topo.tracker.in_flight(n)
                                       for n in diff.sources_removed), deadline)
    if outcome == "ok" and diff.routes_changed:
        closed = topo.gate.close(max(0.0, deadline - time.monotonic()))
        outcome = "ok" if closed else "deadline"
        if outcome == "ok":
            outcome = wait(lambda: all(r.depth == 0 and not r.busy_since for r in topo.runners.values()),
                           deadline)
    if outcome != "ok":
        _restart(topo, stopping, old_cfg)
        topo.gate.open()
        if outcome == "deadline":
            log.error("reload abandoned: the pipeline did not drain in time; the old config keeps "
                      "running", timeout=old_cfg.daemon.shutdown_timeout)
            return "restarted"
        return outcome
    # nothing is between the queue and the sinks now: swap
    old_stats = {}
    for name in diff.sinks_removed + diff.sinks_changed:
        runner = topo.runners.pop(name)
        runner.close()
        runner.join(5)
        old_stats[name] = runner.stats
    topo.loaded = new
    for name in diff.sinks_added + diff.sinks_changed:
        # [daemon] settings stay as started (queue_size is the inbox bound)
        runner = topology.build_runner(topo, name, new_cfg.sinks[name], old_cfg.daemon)
        if name in old_stats:
            runner.stats = old_stats[name]  # counters go on across the reload
        topo.runners[name] = runner
        runner.start()
    topo.routes = topology.build_routes(topo, new)
    for name, source in topo.sources.items():  # a sink that uses ids added or removed
        source.use_ids(topology.uses_ids(topo, name))
    if diff.routes_changed:  # (the gate is closed: no worker is in use)
        if topo.pool is not None:  # workers build their functions from the config: new ones
            topo.pool.close()
        topo.pool = topology.build_pool(topo, new, old_cfg.daemon)
        if topo.pool is not None:
            topo.pool.start()
    handovers = {s.name: s.handover() for s in stopping}
    old_sources = {name: topo.sources.pop(name) for name in diff.sources_removed + diff.sources_changed}
    for name in diff.sources_removed:
        old_sources[name].close()
    for name in diff.sources_added + diff.sources_changed:
        old = old_sources.get(name)
        src_cfg = new_cfg.sources[name]
        # a change of kind (file to journald) hands nothing over
        same_kind = old is not None and getattr(old.cfg, "type", None) == getattr(src_cfg, "type", None)
        if old is not None and not same_kind:
            old.close()
        src = topology.build_source(topo, name, src_cfg, handover=handovers.get(name) if same_kind else None,
                                    stats=old.stats if old is not None else None, daemon=old_cfg.daemon)
        topo.sources[name] = src
        src.start()
    topo.gate.open()
    return "swapped"


def _restart(topo: Topology, stopping: list[Any], cfg: Any) -> None:
    """Abandoned reload: the stopped sources read on with their old config, where they were:
    one whose thread has not ended takes its stop back; an ended one is replaced by a new
    source that takes over from it."""
    for old in stopping:
        if old.unstop():
            continue
        src = topology.build_source(topo, old.name, cfg.sources[old.name], handover=old.handover(),
                                    stats=old.stats, daemon=cfg.daemon)
        topo.sources[old.name] = src
        src.start()
