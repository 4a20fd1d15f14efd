"""The `syslog` sink: each entry as one syslog message (RFC 5424 or RFC 3164) over UDP or
TCP or TLS (RFC 5425). The consumers build and frame every message (`sink.build_syslog_formatter`); the
sink's thread sends them (`sink.SyslogSink`, `transport`)."""

from __future__ import annotations

from typing import Any

from logproc.config.tls import tls_details, warn_unverified
from logproc.sinks.base import Sink
from logproc.sinks.formats import Formatter
from logproc.sinks.kind import AT_LEAST_ONCE, AT_MOST_ONCE, SinkKind, always, never, sends
from logproc.sinks.syslog.config import SyslogSinkConfig


def formatter(cfg: Any) -> Formatter:
    from logproc.sinks.syslog.sink import build_syslog_formatter
    return build_syslog_formatter(cfg)


def build(name: str, cfg: Any, _dead_letters: Any) -> Sink:
    from logproc.sinks.syslog.sink import SyslogSink
    warn_unverified(name, cfg)
    return SyslogSink(name, cfg)


def describe(cfg: Any) -> str:
    udp = cfg.address.startswith("udp://")
    guarantee = f"{AT_MOST_ONCE} (UDP)" if udp else AT_LEAST_ONCE
    return sends(f"{cfg.address} ({cfg.protocol}, facility {cfg.facility}{tls_details(cfg.tls)})", guarantee)


KIND = SinkKind("syslog", SyslogSinkConfig, build, formatter=formatter,
                # the level (severity) and the header fields are read from entries: always parsed
                needs_entries=always, raw_only=never, describe=describe)
