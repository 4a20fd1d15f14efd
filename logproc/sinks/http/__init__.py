"""The `http` sink: batches of entries POSTed to an HTTP endpoint in one of four wire
encodings (`ndjson`, `json_array`, `loki`, `elasticsearch`).

- the consumers' half: the encoding's entry half (`encoders`), entries to payload units;
- the sink's half: `sink.HttpSink`, units to requests, sent with retries (`batching`,
  `client`). urllib3 is imported only when a config has an http sink.
"""

from __future__ import annotations

from typing import Any

from logproc.config.tls import tls_details, warn_unverified
from logproc.sinks.base import Sink
from logproc.sinks.formats import Formatter
from logproc.sinks.http.config import HttpSinkConfig
from logproc.sinks.kind import AT_LEAST_ONCE, EXACTLY_ONCE, SinkKind, always, never, sends


def formatter(cfg: Any) -> Formatter:
    from logproc.sinks.http.encoders import build_encoding
    return build_encoding(cfg).entry_half


def build(name: str, cfg: Any, dead_letters: Any) -> Sink:
    from logproc.sinks.http.sink import HttpSink
    warn_unverified(name, cfg)
    return HttpSink(name, cfg, dead_letters)


def describe(cfg: Any) -> str:
    if cfg.encoding == "elasticsearch":  # documents' `_id`s are the entries' ids
        guarantee = (f"{EXACTLY_ONCE} (ids, create)" if cfg.action == "create"
                     else f"{AT_LEAST_ONCE} (ids, index: a copy replaces its document)")
    else:
        guarantee = AT_LEAST_ONCE
    details = f"{cfg.encoding}{', gzip' if cfg.gzip else ''}{tls_details(cfg.client_tls())}"
    return sends(f"{cfg.url} ({details})", guarantee)


KIND = SinkKind("http", HttpSinkConfig, build, formatter=formatter,
                # labels, the index date and the level are read from fields: always parsed
                needs_entries=always, raw_only=never,
                # elasticsearch: the entries' ids become documents' `_id`s (exactly once)
                uses_ids=lambda cfg: cfg.encoding == "elasticsearch",
                linger=lambda cfg: (cfg.batch_timeout, cfg.batch_max_entries), describe=describe)
