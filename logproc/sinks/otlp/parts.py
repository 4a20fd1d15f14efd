"""The two parts the otlp sink plugs into the http sink's machinery: its `Encoding`
(`logproc.sinks.http.encoders`) and its `HttpClient` with the `tls` table.

- `build_encoding`: the entry half (`units`) and the request half (`body`) of the
  config's `protocol`, with its content type. opentelemetry-proto is imported when they are
  built, for http/protobuf only, so a config without an otlp sink never loads protobuf.
- `build_client`: `HttpClient` with the `tls` table (the http sink's TLS, see its
  `client` module).
"""

from __future__ import annotations

from typing import Any

from logproc.sinks.http.client import HttpClient
from logproc.sinks.http.encoders import Encoding
from logproc.sinks.otlp.body import json_body, protobuf_body
from logproc.sinks.otlp.units import build_entry_half

CONTENT_TYPES = {"http/protobuf": "application/x-protobuf", "http/json": "application/json"}


def build_encoding(cfg: Any) -> Encoding:
    """The encoding of an otlp config's `protocol`."""
    body = json_body if cfg.protocol == "http/json" else protobuf_body()
    return Encoding(f"otlp {cfg.protocol}", CONTENT_TYPES[cfg.protocol], build_entry_half(cfg), body)


def build_client(cfg: Any, content_type: str) -> HttpClient:
    """The client of an otlp config (`endpoint`, `headers`, `timeout`, `gzip`,
    `concurrency` connections at most, `tls`)."""
    return HttpClient(cfg.endpoint, cfg.headers, content_type, cfg.timeout, tls=cfg.tls,
                      maxsize=cfg.concurrency, gzip=cfg.gzip)
