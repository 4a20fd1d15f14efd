"""Reload: apply a new config to the running pipeline by difference.

Called by the supervisor (SIGHUP, or an edit of the config file with `watch_config`),
with the new config already loaded and validated in full (an invalid one never gets
here: its errors are logged and the old config keeps running).

1. Sources that are removed or changed stop reading (their watcher threads end; what they
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
on (a watcher still running takes its stop back; an ended one is replaced through the same
hand-over), and the old config keeps running; the error is logged. Counters go on across
a reload (a changed source or sink keeps its stats). Limits: a renamed source is a new
source (checkpoints belong to a source name, so its files are read again from the
start); a removed sink that is down cannot be removed until it accepts its entries.
`[daemon]` settings other than `log_level` take effect at the next start only (logged
when they differ).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from logproc import log as logsetup
from logproc.log import get_logger
from logproc.pipeline import build as topology
from logproc.pipeline.events import EventWatcher

if TYPE_CHECKING:
    from logproc.config import LoadedConfig
    from logproc.daemon.supervisor import Supervisor

log = get_logger("reload")


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(removed, added, changed) names between two name -> config mappings."""
    removed = [n for n in old if n not in new]
    added = [n for n in new if n not in old]
    changed = [n for n in new if n in old and new[n] != old[n]]
    return removed, added, changed


def apply(sup: Supervisor, new: LoadedConfig, wait: Callable[[Callable[[], bool], float], str]) -> str:
    """Apply `new` to the running pipeline: "ok", or why it was abandoned ("deadline", or
    "signal": a shutdown request arrived during the reload, which the caller carries out).

    `wait(done, deadline)` is the supervisor's, with the same answers."""
    topo = sup.topo
    old_cfg, new_cfg = topo.loaded.config, new.config
    src_removed, src_added, src_changed = diff(dict(old_cfg.sources), dict(new_cfg.sources))
    sink_removed, sink_added, sink_changed = diff(dict(old_cfg.sinks), dict(new_cfg.sinks))
    routes_changed = bool(sink_removed or sink_added or sink_changed or src_added or src_changed)
    if not (src_removed or src_added or src_changed or routes_changed):
        _daemon_settings(old_cfg, new)
        topo.loaded = sup.loaded = new
        log.info("reloaded: nothing to change")
        return "ok"
    deadline = time.monotonic() + old_cfg.daemon.shutdown_timeout
    stopping = [topo.sources[n] for n in src_removed + src_changed]
    for s in stopping:
        s.stop()
    outcome = wait(lambda: not any(s.thread.is_alive() for s in stopping), deadline)
    if outcome == "ok":
        # queued, in a consumer's hands (taken batches leave the queue before they are
        # submitted: see daemon.turn), or handed to sinks and not yet acknowledged
        outcome = wait(lambda: not any(topo.queue.pending(n) or topo.tracker.in_flight(n)
                                       or any(c.holding == n for c in sup.consumers)
                                       for n in src_removed), deadline)
    if outcome == "ok" and routes_changed:
        closed = topo.gate.close(max(0.0, deadline - time.monotonic()))
        outcome = "ok" if closed else "deadline"
        if outcome == "ok":
            outcome = wait(lambda: all(r.depth == 0 and not r.busy_since for r in topo.runners.values()),
                           deadline)
    if outcome != "ok":
        _restart(sup, stopping, old_cfg)
        topo.gate.open()
        if outcome == "deadline":
            log.error("reload abandoned: the pipeline did not drain in time; the old config keeps "
                      "running", timeout=old_cfg.daemon.shutdown_timeout)
        return outcome
    # nothing is between the queue and the sinks now: swap
    old_stats = {}
    for name in sink_removed + sink_changed:
        runner = topo.runners.pop(name)
        runner.close()
        runner.join(5)
        old_stats[name] = runner.stats
    topo.loaded = sup.loaded = new
    for name in sink_added + sink_changed:
        # [daemon] settings stay as started (queue_size is the inbox bound)
        runner = topology.build_runner(topo, name, new_cfg.sinks[name], old_cfg.daemon)
        if name in old_stats:
            runner.stats = old_stats[name]  # counters go on across the reload
        topo.runners[name] = runner
        runner.start()
    topo.routes = topology.build_routes(topo, new)
    if routes_changed:  # (the gate is closed: no worker is in use)
        if topo.pool is not None:  # workers build their functions from the config: new ones
            topo.pool.close()
        topo.pool = topology.build_pool(topo, new, old_cfg.daemon)
        if topo.pool is not None:
            topo.pool.start()
    handovers = {s.name: s.handover() for s in stopping}
    old_sources = {name: topo.sources.pop(name) for name in src_removed + src_changed}
    for name in src_removed:
        old_sources[name].close_files()
    for name in src_added + src_changed:
        old = old_sources.get(name)
        src = topology.build_source(topo, name, new_cfg.sources[name], handover=handovers.get(name),
                                    stats=old.stats if old is not None else None, daemon=old_cfg.daemon)
        topo.sources[name] = src
        src.start()
    _rewatch(sup)
    topo.gate.open()
    _daemon_settings(old_cfg, new)
    log.info("reloaded", sources_added=src_added, sources_removed=src_removed, sources_changed=src_changed,
             sinks_added=sink_added, sinks_removed=sink_removed, sinks_changed=sink_changed)
    return "ok"


def _restart(sup: Supervisor, stopping: list[Any], cfg: Any) -> None:
    """Abandoned reload: the stopped sources read on with their old config, where they were:
    one whose thread has not ended takes its stop back; an ended one is replaced by a new
    source that takes over its tailers."""
    topo = sup.topo
    for old in stopping:
        if old.unstop():
            continue
        src = topology.build_source(topo, old.name, cfg.sources[old.name], handover=old.handover(),
                                    stats=old.stats, daemon=cfg.daemon)
        topo.sources[old.name] = src
        src.start()
    _rewatch(sup)


def _rewatch(sup: Supervisor) -> None:
    if sup.events is not None:
        sup.events.stop()
        sup.events = EventWatcher(list(sup.topo.sources.values()))
        sup.events.start()


def _daemon_settings(old: Any, loaded: LoadedConfig) -> None:
    new = loaded.config
    logsetup.set_mask(loaded.mask)
    if new.daemon.log_level != old.daemon.log_level:
        logsetup.configure(new.daemon.log_level)
    for key in type(old.daemon).model_fields:
        if key != "log_level" and getattr(old.daemon, key) != getattr(new.daemon, key):
            log.warning("daemon setting changed; it takes effect at the next start", key=f"daemon.{key}")
