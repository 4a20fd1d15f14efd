"""The `syslog` sink: each entry as one syslog message (RFC 5424 or RFC 3164) over UDP or
TCP. The consumers build and frame every message (`sink.build_syslog_formatter`); the
sink's thread sends them (`sink.SyslogSink`, `transport`)."""

from __future__ import annotations

from typing import Any

from logproc.sinks.base import Sink
from logproc.sinks.formats import Formatter
from logproc.sinks.kind import SinkKind, always, never
from logproc.sinks.syslog.config import SyslogSinkConfig


def formatter(cfg: Any) -> Formatter:
    from logproc.sinks.syslog.sink import build_syslog_formatter
    return build_syslog_formatter(cfg)


def build(name: str, cfg: Any, _dead_letters: Any) -> Sink:
    from logproc.sinks.syslog.sink import SyslogSink
    return SyslogSink(name, cfg)


def describe(cfg: Any) -> str:
    return f" {cfg.address} ({cfg.protocol}, facility {cfg.facility})"


KIND = SinkKind("syslog", SyslogSinkConfig, build, formatter=formatter,
                # the level (severity) and the header fields are read from entries: always parsed
                needs_entries=always, raw_only=never, describe=describe)
