"""The `syslog` sink's config.

`address` is `udp://host:port`, `tcp://host:port` or `tls://host:port` (RFC 5425: TCP with
TLS, octet counting — `framing = "newline"` is refused there). The `tls` table
(`logproc.config.tls.TlsConfig`) is used with `tls://` only: ca_file, verify,
server_name, and a client certificate (cert_file, key_file) for mutual TLS.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from logproc.config.suggest import did_you_mean, quote
from logproc.config.tls import TlsConfig
from logproc.sinks.base import SinkBase

# In code order: a name's index is its number (RFC 5424 table 1, with Linux's names).
FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
              "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
              "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")


def _facility(value: str | int) -> str | int:
    if isinstance(value, int):
        if not 0 <= value <= 23:
            raise ValueError(f"a facility number is 0 to 23, got {value}")
        return value
    if value not in FACILITIES:
        raise ValueError(f"unknown facility {quote(value)}{did_you_mean(value, FACILITIES)}")
    return value


def _syslog_address(address: str) -> str:
    scheme, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if not (sep and scheme in ("udp", "tcp", "tls") and colon and host and port.isdigit()
            and 1 <= int(port) <= 65535):
        raise ValueError(f'expected "udp://host:port", "tcp://host:port" or "tls://host:port", '
                         f'got {quote(address)}')
    return address


class SyslogSinkConfig(SinkBase):
    """Sends each entry as one syslog message over UDP, TCP or TLS."""

    type: Literal["syslog"] = Field(description='"syslog": each entry as one syslog message.')
    address: Annotated[str, AfterValidator(_syslog_address)] = Field(
        description='Where to send: "udp://host:port", "tcp://host:port" or "tls://host:port" '
        "(RFC 5425: over TLS, octet counting).")
    protocol: Literal["rfc5424", "rfc3164"] = Field(
        default="rfc5424", description="The message format: RFC 5424, or the BSD format of RFC 3164.")
    facility: Annotated[str | int, AfterValidator(_facility)] = Field(
        default="user", description='The facility: a name ("daemon", "local0" …) or a number 0 to 23.')
    app_name: str = Field(default="logproc", min_length=1, max_length=48,
                          description="APP-NAME (RFC 5424) or TAG (RFC 3164) of every message.")
    framing: Literal["octet", "newline"] = Field(
        default="octet", description="TCP framing (RFC 6587): octet counting, or one message per line "
        "(tls:// always counts octets).")
    tls: TlsConfig | None = Field(
        default=None, description="TLS of a tls:// address: ca_file, verify, server_name, and a "
        "client certificate (cert_file, key_file) for mutual TLS.")
    format: Literal["json", "logfmt", "text", "raw"] | None = Field(  # type: ignore[assignment]
        default=None, description="MSG: the entry's `message` when absent, else the entry in this format.")

    @model_validator(mode="after")
    def _tls_fits(self) -> SyslogSinkConfig:
        over_tls = self.address.startswith("tls://")
        if self.tls is not None and not over_tls:
            raise ValueError(f'tls is only used with a "tls://host:port" address, not {quote(self.address)}')
        if over_tls and "framing" in self.model_fields_set and self.framing != "octet":
            raise ValueError('tls:// sends with octet counting (RFC 5425): remove framing = "newline"')
        return self
