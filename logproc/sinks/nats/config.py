"""The `nats` sink's config: where to publish (`url`, `subject`), how (`jetstream`), and
the connection's security (`credentials_file`, `tls`).

A URL is `nats://HOST[:PORT]` or `tls://HOST[:PORT]` (port 4222 when absent), optionally
with `user:password@` (masked in logs and `check`, like every URL's user-info). A subject
template is checked here by rendering it with a placeholder for every field: what is left
must be a valid NATS subject to publish to (dot-separated tokens, none empty, no blanks,
no wildcards).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from logproc.config.fields import CONTROL, ReadableFile, check_template
from logproc.config.suggest import quote
from logproc.config.tls import TlsConfig
from logproc.sinks.base import SinkBase

DEFAULT_URL = "nats://127.0.0.1:4222"
_TOKEN = re.compile(r"[^\s.*>]+")  # one subject token: no blank, no dot, no wildcard


def _nats_url(url: str) -> str:
    if CONTROL.search(url) or " " in url or "\t" in url:
        raise ValueError("the URL contains a blank or a control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("nats", "tls") or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ValueError(f'expected "nats://host:port" or "tls://host:port", got {quote(_shown(url))}')
    if port == 0:
        raise ValueError(f"port 0 in {quote(_shown(url))}")
    return url


def _shown(url: str) -> str:
    """`url` without its user-info (never echo a password)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


def check_subject(template: str) -> str:
    """A subject template: field names only (as every template), and once each field is
    replaced by a token, a subject one may publish to."""
    check_template(template)
    rendered = re.sub(r"\{[^{}]*\}", "x", template.replace("{{", "{").replace("}}", "}"))
    if not all(_TOKEN.fullmatch(token) for token in rendered.split(".")):
        raise ValueError(f"invalid subject {quote(template)}: dot-separated tokens, none empty, "
                         'without blanks or the wildcards "*" and ">"')
    return template


NatsUrl = Annotated[str, AfterValidator(_nats_url)]


class NatsSinkConfig(SinkBase):
    """Publishes each entry as one NATS message (see `logproc.sinks.nats`)."""

    type: Literal["nats"] = Field(description='"nats": each entry published as one NATS message, '
                                  "by default into a JetStream stream.")
    url: NatsUrl | list[NatsUrl] = Field(
        default=DEFAULT_URL, description='The server: "nats://host:port" or "tls://host:port"; a list '
        "for a cluster (any of them may be connected to).")
    subject: Annotated[str, AfterValidator(check_subject)] = Field(
        description='The subject of each message, naming entry fields as "logs.{source}"; a field '
        'fills one token (its dots, blanks, "*" and ">" written "_", empty as "_").')
    jetstream: bool = Field(
        default=True, description="true: publish into the JetStream stream taking the subject and "
        "wait for its acknowledgement (exactly once within the stream's duplicate window); false: "
        "core NATS, at most once, acknowledged once sent.")
    credentials_file: ReadableFile | None = Field(
        default=None, description="A user credentials file (.creds: the user's JWT and NKey seed) "
        "to authenticate with.")
    tls: TlsConfig | None = Field(
        default=None, description="TLS to the server (tls:// URLs use the system's CAs without it): "
        "ca_file, a client certificate (cert_file, key_file), verify, server_name.")
    timeout: float = Field(
        default=10.0, gt=0, le=600, description="Seconds to connect, and to wait for the "
        "acknowledgements of the messages sent.")
    retry_max_backoff: float = Field(
        default=30.0, gt=0, le=3600, description="The longest wait between retries, in seconds.")

    @field_validator("url")
    @classmethod
    def _urls(cls, url: str | list[str]) -> str | list[str]:
        if isinstance(url, list):
            if not url:
                raise ValueError("an empty list: name at least one server")
            if len(set(url)) != len(url):
                raise ValueError("a server is listed twice")
        return url


def urls_of(cfg: NatsSinkConfig) -> list[str]:
    """The configured servers as a list (one URL or a cluster's)."""
    return list(cfg.url) if isinstance(cfg.url, list) else [cfg.url]


def shown_urls(cfg: NatsSinkConfig) -> str:
    """The servers for logs and `check`, without user-info."""
    return ", ".join(_shown(u) for u in urls_of(cfg))
