"""The `file` source: tails the files its globs match, through rotation, truncation,
deletion and compression (`source`: discovery and the read loop; `tailer`: one file's state
machine; `recovery`, `archives`: what happens when a file is not simply growing)."""

from __future__ import annotations

from typing import Any

from logproc.sources.base import Source
from logproc.sources.file.config import FileSourceConfig
from logproc.sources.file.report import describe
from logproc.sources.kind import SourceContext, SourceKind


def build(name: str, cfg: Any, ctx: SourceContext) -> Source:
    from logproc.sources.file.source import FileSource
    return FileSource(name, cfg, ctx.queue, ctx.store, once=ctx.once, budget=ctx.budget,
                      handover=ctx.handover, stats=ctx.stats,
                      batch_lines=ctx.batch_lines, ids=ctx.ids)


KIND = SourceKind("file", FileSourceConfig, build, parser=lambda cfg: cfg.parser, ids="offset",
                  describe=describe)
