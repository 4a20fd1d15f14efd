"""The `http` sink's config."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from logproc.config.fields import HeaderName, HeaderValue, HttpUrl, ReadableFile, check_template
from logproc.config.suggest import quote
from logproc.sinks.base import SinkBase


class HttpSinkConfig(SinkBase):
    """POSTs batches of entries; `encoding` decides the body (see `logproc.sinks.http`)."""

    type: Literal["http"] = Field(description='"http": batches of entries POSTed to an HTTP endpoint.')
    url: HttpUrl = Field(description='The endpoint: an "http://" or "https://" URL.')
    encoding: Literal["ndjson", "json_array", "loki", "elasticsearch"] = Field(
        default="ndjson", description="The request body: one entry per line (ndjson), a JSON array, "
        "a Loki push request, or an Elasticsearch `_bulk` request.")
    headers: dict[HeaderName, HeaderValue] = Field(
        default={}, description="Extra request headers (values may use `${NAME}`; they are masked in "
        "logs and `check`).")
    gzip: bool = Field(default=False, description="Compress request bodies (Content-Encoding: gzip).")
    batch_max_entries: int = Field(default=1000, ge=1, le=1_000_000,
                                   description="At most this many entries in one request.")
    batch_max_bytes: int = Field(default=1048576, ge=1024, le=256 << 20,
                                 description="At most this many body bytes in one request (before gzip).")
    batch_timeout: float = Field(
        default=1.0, gt=0, le=60, description="Seconds to wait for a fuller request once entries wait.")
    timeout: float = Field(default=10.0, gt=0, le=3600, description="Seconds one request may take.")
    retry_max_backoff: float = Field(default=30.0, gt=0, le=3600,
                                     description="The longest wait between retries, in seconds.")
    concurrency: int = Field(default=1, ge=1, le=64, description="Requests in flight at once.")
    tls_verify: bool = Field(default=True, description="Verify the server's TLS certificate.")
    ca_file: ReadableFile | None = Field(
        default=None, description="A PEM bundle of CAs to verify the server with, instead of the system's.")
    labels: dict[str, str] | None = Field(
        default=None, description='encoding = "loki": stream labels, label → value, where a value may '
        'name entry fields as "{level}".')
    index: str = Field(default="logproc-%Y.%m.%d", description='encoding = "elasticsearch": the index, '
                       "strftime on the entry's timestamp.")
    action: Literal["create", "index"] = Field(
        default="create", description='encoding = "elasticsearch": the bulk action.')

    @field_validator("labels")
    @classmethod
    def _labels_for_loki(cls, labels: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        enc = info.data.get("encoding")
        if labels is not None and enc is not None and enc != "loki":
            raise ValueError(f'only used with encoding = "loki", not encoding = {quote(enc)}')
        for name, value in (labels or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"invalid Loki label name {quote(name)}: letters, digits and \"_\", "
                                 "not starting with a digit")
            check_template(value)
        return labels
