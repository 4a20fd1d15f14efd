"""Topology: the running pipeline built from one config.

    sources (one thread each) → BatchQueue → consumers → SinkRunner (one thread each)
                                                       ↓ acks
                                      AckTracker → CheckpointStore (committed by the supervisor)

Everything decidable from the config is decided here, once: each source's pipeline
(parse + transforms), and for each source the list of routes (sink runner, filter,
formatter), folded into one batch function (:mod:`.stages`). A source whose sinks all
pass raw lines through unfiltered skips parsing. With ``[daemon] workers`` above 0 (by
default 2 on a machine with 2 CPUs or more when some source is parsed, see
``procpool.auto_workers``), the parsed sources' batches run in worker processes
(:mod:`.procpool`); the pool is built here and started by the supervisor.
"""

from __future__ import annotations

import resource
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logproc.checkpoints import CheckpointStore
from logproc.pipeline.acks import AckTracker
from logproc.pipeline.gate import Gate
from logproc.pipeline.ids import route_spec
from logproc.pipeline.queue import BatchQueue
from logproc.pipeline.stages import BatchFn, build_batch_fn
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.registry import kind_of as sink_kind
from logproc.sinks.runner import SinkRunner
from logproc.sources.base import Source, SourceStats
from logproc.sources.kind import SourceContext
from logproc.sources.registry import kind_of as source_kind
from logproc.transforms import build_source_pipeline

if TYPE_CHECKING:
    from logproc.config import LoadedConfig
    from logproc.pipeline.offload.pool import WorkerPool
    from logproc.sinks.base import Sink


@dataclass(slots=True)
class Route:
    """One sink as seen from one source."""

    runner: SinkRunner
    filter: Any  # SinkFilter | None
    formatter: Any  # Formatter
    raw_only: bool  # the formatter reads raw lines only
    uses_ids: bool = False  # the formatter takes the entries' stable identities


@dataclass(slots=True)
class SourceRoutes:
    pipeline: Any  # SourcePipeline | None (None: no sink needs entries)
    routes: list[Route]
    run: BatchFn  # the pipeline and every route's filter and formatter, over one batch
    parse_errors: int = 0


@dataclass
class Topology:
    loaded: LoadedConfig
    store: CheckpointStore
    queue: BatchQueue
    tracker: AckTracker
    dead_letters: DeadLetters
    sources: dict[str, Source] = field(default_factory=dict)
    runners: dict[str, SinkRunner] = field(default_factory=dict)
    routes: dict[str, SourceRoutes] = field(default_factory=dict)
    # consumers take batches only while this is open; a reload closes it to swap sinks and
    # routes while nothing is between the queue and the sinks
    gate: Gate = field(default_factory=Gate)
    pool: WorkerPool | None = None  # worker processes for parsed sources ([daemon] workers)


def build_sink(name: str, cfg: Any, dead_letters: DeadLetters) -> Sink:
    return sink_kind(cfg).build(name, cfg, dead_letters)


def descriptor_budget(max_open_files: int) -> int:
    """Descriptors the tailers may hold: `max_open_files`, within the process's own limit
    minus a reserve for sinks, sockets, the checkpoint files and the interpreter."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_open_files
    return max(8, min(max_open_files, soft - 64))


def build(loaded: LoadedConfig, once: bool = False) -> Topology:
    cfg = loaded.config
    store = CheckpointStore(cfg.daemon.state_dir)
    store.load()
    queue = BatchQueue(cfg.daemon.queue_size)
    topo = Topology(loaded, store, queue, AckTracker(store), DeadLetters(cfg.daemon.state_dir))
    for name, scfg in cfg.sinks.items():
        topo.runners[name] = build_runner(topo, name, scfg)
    topo.routes = build_routes(topo, loaded)
    for name, src in cfg.sources.items():
        topo.sources[name] = build_source(topo, name, src, once=once)
    topo.pool = build_pool(topo, loaded)
    return topo


def build_runner(topo: Topology, name: str, scfg: Any, daemon: Any = None) -> SinkRunner:
    kind = sink_kind(scfg)
    sink = kind.build(name, scfg, topo.dead_letters)
    linger, linger_entries = kind.linger(scfg)
    daemon = daemon or topo.loaded.config.daemon
    return SinkRunner(sink, daemon.queue_size, scfg.when_full, topo.dead_letters,
                      after_write=topo.store.commit_light, linger=linger, linger_entries=linger_entries)


def build_routes(topo: Topology, loaded: LoadedConfig) -> dict[str, SourceRoutes]:
    """Each source's pipeline, routes and batch function, to `topo.runners` (which must
    hold every sink)."""
    cfg = loaded.config
    host = socket.gethostname()
    out: dict[str, SourceRoutes] = {}
    for name, src in cfg.sources.items():
        routes: list[Route] = []
        parse = False
        for sname, scfg in cfg.sinks.items():
            if scfg.inputs is not None and name not in scfg.inputs:
                continue
            routes.append(Route(topo.runners[sname], *route_spec(scfg)))
            parse = parse or sink_kind(scfg).needs_entries(scfg)
        kind = source_kind(src)
        pipeline = build_source_pipeline(name, src, host, kind.parser(src)) if parse else None
        run = build_batch_fn(pipeline, [(r.filter, r.formatter, r.raw_only, r.uses_ids) for r in routes],
                             ids=kind.ids)
        out[name] = SourceRoutes(pipeline, routes, run)
    return out


def build_pool(topo: Topology, loaded: LoadedConfig, daemon: Any = None) -> WorkerPool | None:
    """The worker processes for the parsed sources (`[daemon] workers`, from `daemon`: the
    settings started with; None: parse in the consumer threads). Built from `loaded`'s
    sources and sinks; the caller starts it."""
    cfg = loaded.config
    parses = {name: sr.pipeline is not None for name, sr in topo.routes.items()}
    workers = (daemon or cfg.daemon).workers
    if not any(parses.values()) or workers == 0:
        return None
    from logproc.pipeline.offload import pool as procpool

    if workers is None:
        workers = procpool.auto_workers(True)
    if workers <= 0:
        return None
    spec = procpool.worker_spec(cfg, socket.gethostname(), list(cfg.sources), parses)
    return procpool.WorkerPool(workers, spec)


#: batches per queue bound when sources differ in priority (see `batch_lines`)
BATCHES_PER_QUEUE = 8


def batch_lines(sources: Iterable[Any], capacity: int) -> int:
    """Entries per batch, chosen with the queue's bound: when the sources differ in
    priority, an eighth of the bound, so the queue holds several batches and the
    consumers have something to choose between (with one 1 MiB read per batch, ~10,000
    lines, the default queue held one batch and priority decided nothing). When all
    share one priority, 0: batches as large as one read, the fastest (fewer hand-offs)."""
    if len({s.priority for s in sources}) <= 1:
        return 0
    return max(64, capacity // BATCHES_PER_QUEUE)


def build_source(topo: Topology, name: str, src: Any, once: bool = False, handover: Any = None,
                 stats: SourceStats | None = None, daemon: Any = None) -> Source:
    cfg = topo.loaded.config
    daemon = daemon or cfg.daemon
    budget = descriptor_budget(daemon.max_open_files) // max(1, len(cfg.sources))
    ctx = SourceContext(topo.queue, topo.store, once=once, budget=budget, handover=handover,
                        stats=stats, batch_lines=batch_lines(cfg.sources.values(), topo.queue.capacity),
                        ids=uses_ids(topo, name))
    return source_kind(src).build(name, src, ctx)


def uses_ids(topo: Topology, source: str) -> bool:
    """Does a sink routed from `source` use the entries' stable ids (`topo.routes` built)?"""
    sr = topo.routes.get(source)
    return sr is not None and any(r.uses_ids for r in sr.routes)
