"""The `otlp` sink's config.

The batching, retry and connection keys are the `http` sink's own fields (same bounds,
defaults and descriptions, taken from `HttpSinkConfig`), since the otlp sink sends
through the http sink's machinery; `format` and `template` do not apply (each entry
becomes a log record, not a line).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from logproc.config.fields import HeaderName, HeaderValue, HttpUrl, check_template
from logproc.config.suggest import quote
from logproc.config.tls import TlsConfig
from logproc.sinks.base import SinkBase
from logproc.sinks.http.config import HttpSinkConfig


def _as_http(key: str) -> Any:
    """The http sink's declaration of `key` (type bounds, default, description)."""
    return HttpSinkConfig.model_fields[key]


class OtlpSinkConfig(SinkBase):
    """OpenTelemetry logs over HTTP (see `logproc.sinks.otlp`)."""

    type: Literal["otlp"] = Field(description='"otlp": entries sent as OpenTelemetry log records '
                                  "(OTLP over HTTP).")
    endpoint: HttpUrl = Field(
        description='The receiver\'s logs URL, path included, such as "http://127.0.0.1:4318/v1/logs".')
    protocol: Literal["http/protobuf", "http/json"] = Field(
        default="http/protobuf", description="The body: binary protobuf (http/protobuf) or the OTLP "
        "JSON encoding (http/json).")
    resource: dict[str, str] = Field(
        default={}, description='Resource attributes, name → value, where a value may name entry '
        'fields as "{source}"; added to (or replacing) the defaults service.name = "{source}" and '
        'host.name = "{host}"; a value rendering empty is left out.')
    headers: dict[HeaderName, HeaderValue] = _as_http("headers")
    gzip: bool = _as_http("gzip")
    batch_max_entries: int = _as_http("batch_max_entries")
    batch_max_bytes: int = _as_http("batch_max_bytes")
    batch_timeout: float = _as_http("batch_timeout")
    timeout: float = _as_http("timeout")
    retry_max_backoff: float = _as_http("retry_max_backoff")
    concurrency: int = _as_http("concurrency")
    tls: TlsConfig | None = Field(
        default=None, description="TLS of an https endpoint: ca_file, verify, server_name, and a "
        "client certificate (cert_file, key_file).")

    @field_validator("format")
    @classmethod
    def _no_format(cls, fmt: str) -> str:
        if fmt != "json":
            raise ValueError(f"not used by an otlp sink (each entry is sent as a log record), "
                             f"remove format = {quote(fmt)}")
        return fmt

    @field_validator("resource")
    @classmethod
    def _templates(cls, resource: dict[str, str]) -> dict[str, str]:
        for name, value in resource.items():
            if not name:
                raise ValueError("a resource attribute needs a name")
            check_template(value)
        return resource

    @field_validator("tls")
    @classmethod
    def _tls_for_https(cls, tls: TlsConfig | None, info: ValidationInfo) -> TlsConfig | None:
        endpoint = info.data.get("endpoint")
        if tls is not None and isinstance(endpoint, str) and not endpoint.startswith("https://"):
            raise ValueError(f'only used with an "https://" endpoint, not {quote(endpoint)}')
        return tls
