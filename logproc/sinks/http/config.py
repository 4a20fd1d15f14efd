"""The `http` sink's config.

TLS of an `https://` URL: the `tls` table (`logproc.config.tls.TlsConfig`: ca_file, a
client certificate, verify, server_name). The older keys `tls_verify` and `ca_file` keep
working and mean `tls.verify` and `tls.ca_file`; one given both ways with different
values is a config error naming both keys. `client_tls()` is the one effective table.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from logproc.config.fields import HeaderName, HeaderValue, HttpUrl, ReadableFile, check_template
from logproc.config.suggest import quote
from logproc.config.tls import TlsConfig
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
    tls: TlsConfig | None = Field(
        default=None, description="TLS of an https URL: ca_file, verify, server_name, and a client "
        "certificate (cert_file, key_file) for mutual TLS.")
    tls_verify: bool = Field(default=True, description="Older form of tls.verify: verify the "
                             "server's TLS certificate.")
    ca_file: ReadableFile | None = Field(
        default=None, description="Older form of tls.ca_file: a PEM bundle of CAs to verify the "
        "server with, instead of the system's.")
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

    @field_validator("tls")
    @classmethod
    def _tls_for_https(cls, tls: TlsConfig | None, info: ValidationInfo) -> TlsConfig | None:
        url = info.data.get("url")
        if tls is not None and isinstance(url, str) and not url.startswith("https://"):
            raise ValueError(f'only used with an "https://" url, not {quote(url)}')
        return tls

    @model_validator(mode="after")
    def _older_keys_agree(self) -> HttpSinkConfig:
        tls = self.tls
        if tls is None:
            return self
        if "tls_verify" in self.model_fields_set and "verify" in tls.model_fields_set \
                and self.tls_verify != tls.verify:
            raise ValueError(f"tls_verify = {str(self.tls_verify).lower()} and tls.verify = "
                             f"{str(tls.verify).lower()} disagree: keep tls.verify only")
        if self.ca_file is not None and tls.ca_file is not None and self.ca_file != tls.ca_file:
            raise ValueError(f"ca_file = {quote(self.ca_file)} and tls.ca_file = {quote(tls.ca_file)} "
                             "disagree: keep tls.ca_file only")
        return self

    def client_tls(self) -> TlsConfig | None:
        """The effective TLS table of an https URL (the older keys merged in), None for http."""
        if not self.url.startswith("https://"):
            return None
        tls = self.tls or TlsConfig()
        verify = tls.verify if "verify" in tls.model_fields_set else self.tls_verify
        return tls.model_copy(update={"verify": verify, "ca_file": tls.ca_file or self.ca_file})
