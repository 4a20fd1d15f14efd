"""The `otlp` sink: entries as OpenTelemetry log records, POSTed to an OTLP/HTTP receiver
(`http/protobuf` or `http/json`).

- the consumers' half (`units`): each entry to one unit holding its resource and its
  `LogRecord` (severity from `severity`, values from `values`, resource from `resource`),
  serialized there, in parallel;
- the sink's half (`sink.OtlpSink`): the http sink with the OTLP encoding and client
  (`parts`, `body`), the OTLP retry rules and partial success (`response`).

A config:

    [sinks.otel]
    type = "otlp"
    endpoint = "http://127.0.0.1:4318/v1/logs"   # the full path: nothing is appended
    protocol = "http/protobuf"                   # or "http/json"
    resource = { "deployment.environment" = "prod", "service.name" = "{app}" }
    gzip = true

Each entry is one `LogRecord`: `timestamp` → `time_unix_nano`, `level` → severity
(`severity`), `message` → `body`, every other field → an attribute; the resource is
`service.name` = the source, `host.name` = the host, and the `resource` table over them
(`resource`). Dead letters are OTLP/JSON `ResourceLogs` lines (`body.readable`); a partial
success dead-letters its whole request, marked (`sink`).

Guarantee: at least once (a record is acknowledged once the receiver answered 2xx; a
request sent again after a timeout or a restart may arrive twice).
"""

from __future__ import annotations

from typing import Any

from logproc.config.tls import warn_unverified
from logproc.sinks.base import Sink
from logproc.sinks.formats import Formatter
from logproc.sinks.kind import AT_LEAST_ONCE, SinkKind, always, never, sends
from logproc.sinks.otlp.config import OtlpSinkConfig


def formatter(cfg: Any) -> Formatter:
    from logproc.sinks.otlp.units import build_entry_half
    return build_entry_half(cfg)


def build(name: str, cfg: Any, dead_letters: Any) -> Sink:
    from logproc.sinks.otlp.sink import OtlpSink
    warn_unverified(name, cfg)
    return OtlpSink(name, cfg, dead_letters)


def describe(cfg: Any) -> str:
    return sends(f"{cfg.endpoint} ({cfg.protocol}{', gzip' if cfg.gzip else ''})", AT_LEAST_ONCE)


KIND = SinkKind("otlp", OtlpSinkConfig, build, formatter=formatter,
                # severity, time, resource and attributes come from fields: always parsed
                needs_entries=always, raw_only=never,
                linger=lambda cfg: (cfg.batch_timeout, cfg.batch_max_entries), describe=describe)
