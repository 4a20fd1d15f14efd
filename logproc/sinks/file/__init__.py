"""The `file` sink: appends formatted entries to a file, one path per source with `{source}`."""

from __future__ import annotations

from typing import Any

from logproc.sinks.base import Sink
from logproc.sinks.file.config import FileSinkConfig
from logproc.sinks.kind import AT_LEAST_ONCE, SinkKind, sends


def build(name: str, cfg: Any, _dead_letters: Any) -> Sink:
    from logproc.sinks.file.sink import FileSink
    return FileSink(name, cfg.path, cfg.fsync)


def describe(cfg: Any) -> str:
    return sends(f"{cfg.path}{' (fsync)' if cfg.fsync else ''}", AT_LEAST_ONCE)


KIND = SinkKind("file", FileSinkConfig, build, describe=describe)
