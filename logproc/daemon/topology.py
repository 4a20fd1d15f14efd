"""Topology: the running pipeline built from one config.

    sources (one watcher thread each) → BatchQueue → consumers → SinkRunner (one thread each)
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logproc.checkpoints import CheckpointStore
from logproc.daemon.acks import AckTracker
from logproc.daemon.stages import BatchFn, build_batch_fn
from logproc.queue import BatchQueue
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.file import FileSink
from logproc.sinks.formats import build_formatter, needs_entries
from logproc.sinks.runner import SinkRunner
from logproc.sinks.stdout import StdoutSink
from logproc.sources.file import FileSource
from logproc.transforms import build_source_pipeline
from logproc.transforms.filter import build_filter

if TYPE_CHECKING:
    from logproc.config import LoadedConfig
    from logproc.daemon.procpool import WorkerPool
    from logproc.sinks.base import Sink


@dataclass(slots=True)
class Route:
    """One sink as seen from one source."""

    runner: SinkRunner
    filter: Any  # SinkFilter | None
    formatter: Any  # Formatter
    raw_only: bool  # the formatter reads raw lines only


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
    sources: dict[str, FileSource] = field(default_factory=dict)
    runners: dict[str, SinkRunner] = field(default_factory=dict)
    routes: dict[str, SourceRoutes] = field(default_factory=dict)
    pool: WorkerPool | None = None  # worker processes for parsed sources ([daemon] workers)


def build_sink(name: str, cfg: Any) -> Sink:
    if cfg.type == "stdout":
        return StdoutSink(name)
    if cfg.type == "file":
        return FileSink(name, cfg.path, cfg.fsync)
    raise ValueError(f"unknown sink type {cfg.type!r}")  # the schema makes this unreachable


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
    host = socket.gethostname()
    budget = descriptor_budget(cfg.daemon.max_open_files) // max(1, len(cfg.sources))
    for name, scfg in cfg.sinks.items():
        sink = build_sink(name, scfg)
        topo.runners[name] = SinkRunner(sink, cfg.daemon.queue_size, scfg.when_full, topo.dead_letters,
                                        after_write=store.commit_light)
    parses: dict[str, bool] = {}
    for name, src in cfg.sources.items():
        routes: list[Route] = []
        parse = False
        for sname, scfg in cfg.sinks.items():
            if scfg.inputs is not None and name not in scfg.inputs:
                continue
            routes.append(Route(topo.runners[sname], build_filter(scfg), build_formatter(scfg),
                                not needs_entries(scfg) or scfg.format == "raw"))
            parse = parse or needs_entries(scfg)
        pipeline = build_source_pipeline(name, src, host) if parse else None
        run = build_batch_fn(pipeline, [(r.filter, r.formatter, r.raw_only) for r in routes])
        topo.routes[name] = SourceRoutes(pipeline, routes, run)
        topo.sources[name] = FileSource(name, src, queue, store, once=once, budget=budget)
        parses[name] = parse
    workers = cfg.daemon.workers
    if workers is None or workers > 0:
        from logproc.daemon import procpool

        if workers is None:
            workers = procpool.auto_workers(any(parses.values()))
        if workers > 0 and any(parses.values()):
            spec = procpool.worker_spec(cfg, host, list(cfg.sources), parses)
            topo.pool = procpool.WorkerPool(workers, spec)
    return topo
