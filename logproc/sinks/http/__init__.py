"""The `http` sink: batches of entries POSTed to an HTTP endpoint in one of four wire
encodings (`ndjson`, `json_array`, `loki`, `elasticsearch`).

- `build_http_formatter(cfg)`: the consumers' half, entries to payload units
  (`encoders`);
- `HttpSink(name, cfg, dead_letters)`: the sink's half, units to requests, sent with
  retries (`sink`, `batching`, `client`).
"""

from __future__ import annotations

from typing import Any

from logproc.sinks.formats import Formatter
from logproc.sinks.http.encoders import build_encoding
from logproc.sinks.http.sink import HttpSink

__all__ = ["HttpSink", "build_http_formatter"]


def build_http_formatter(cfg: Any) -> Formatter:
    """What the consumers run for an http sink: its encoding's entry half."""
    return build_encoding(cfg).entry_half
