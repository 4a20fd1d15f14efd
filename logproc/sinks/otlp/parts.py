"""The two parts the otlp sink plugs into the http sink's machinery: its `Encoding`
(`logproc.sinks.http.encoders`) and its `HttpClient` with the `tls` table.

- `build_encoding`: the entry half (`units`) and the request half (`body`) of the
  config's `protocol`, with its content type. opentelemetry-proto is imported when they are
  built, for http/protobuf only, so a config without an otlp sink never loads protobuf.
- `build_client`: `HttpClient` takes the server check (`verify`, `ca_file`) itself. A
  client certificate and `server_name` it does not know: for those, its connection pool
  (which has made no connection yet) gets the `ssl.SSLContext` of
  `TlsConfig.client_context()` and, with `server_name`, the name sent as SNI and checked
  against the server's certificate.
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
    tls = cfg.tls
    client = HttpClient(cfg.endpoint, cfg.headers, content_type, cfg.timeout,
                        tls_verify=tls.verify if tls is not None else True,
                        ca_file=tls.ca_file if tls is not None else None,
                        maxsize=cfg.concurrency, gzip=cfg.gzip)
    if tls is not None and cfg.endpoint.startswith("https://") and (tls.cert_file or tls.server_name):
        conn_kw = client.pool.conn_kw  # passed to each new connection
        conn_kw["ssl_context"] = tls.client_context()
        if tls.server_name:
            conn_kw["server_hostname"] = tls.server_name
    return client
