"""`SourceKind`: everything logproc knows about one kind of source, declared by its package.

A source package (`logproc/sources/<kind>/__init__.py`) defines `KIND = SourceKind(...)`
and is named once in `logproc.sources.registry`. From the declaration follow:

- the config schema: `config` joins the `type` union of `[sources.*]`;
- the parser its lines go through (`parser(cfg)`: a name in `logproc.transforms.PARSERS`),
  in consumer threads or worker processes;
- how its entries' stable ids are made (`ids`: a scheme of `logproc.pipeline.ids`, None
  when its entries have no identity);
- the running source: `build(name, cfg, context)`, a `logproc.sources.base.Source`; its
  module is imported there, so a config without the kind never loads it;
- what `logproc check` prints for it: `describe(name, cfg)`, its lines (the first is
  "  NAME: …", the others indented by four; warnings start with "warning: ").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logproc.sources.base import SourceBase

if TYPE_CHECKING:
    from logproc.checkpoints import CheckpointStore
    from logproc.pipeline.queue import BatchQueue
    from logproc.sources.base import Source, SourceStats


@dataclass(frozen=True)
class SourceContext:
    """What the pipeline gives a source it builds."""

    queue: BatchQueue
    store: CheckpointStore
    once: bool = False  # read what is there, then end (`run --once`)
    budget: int = 1024  # descriptors this source may hold
    # entries a batch should hold at most (0: as many as one read gives); see
    # `logproc.pipeline.build.batch_lines`
    batch_lines: int = 0
    handover: Any = None  # from the source this one replaces (reload), see `Source.handover`
    stats: SourceStats | None = None  # counters to go on with (reload)
    ids: bool = False  # a routed sink uses the entries' stable ids (files: give offsets)


def heading(name: str, cfg: Any) -> list[str]:
    return [f"  {name}: {cfg.type}, priority {cfg.priority}"]


@dataclass(frozen=True)
class SourceKind:
    """A source kind as the rest of logproc knows it (see the module doc)."""

    name: str  # the config's `type`
    config: type[SourceBase]
    build: Callable[[str, Any, SourceContext], Source]
    parser: Callable[[Any], str]
    ids: str | None = None  # the id scheme (`logproc.pipeline.ids.SCHEMES`)
    describe: Callable[[str, Any], list[str]] = heading
