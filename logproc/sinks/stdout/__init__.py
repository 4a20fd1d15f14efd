"""The `stdout` sink: formatted entries on standard output."""

from __future__ import annotations

from typing import Any

from logproc.sinks.base import Sink
from logproc.sinks.kind import AT_LEAST_ONCE, SinkKind
from logproc.sinks.stdout.config import StdoutSinkConfig


def build(name: str, _cfg: Any, _dead_letters: Any) -> Sink:
    from logproc.sinks.stdout.sink import StdoutSink
    return StdoutSink(name)


def describe(_cfg: Any) -> str:
    return f" — {AT_LEAST_ONCE}"  # the type says where


KIND = SinkKind("stdout", StdoutSinkConfig, build, describe=describe)
