"""The `syslog` source's config: a receiver of syslog messages over UDP, TCP (optionally
TLS) and a local datagram socket."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from logproc.config.fields import TimeZone
from logproc.config.tls import TlsConfig
from logproc.sources.base import SourceBase
from logproc.sources.syslog.listeners import Address


class SyslogSourceConfig(SourceBase):
    type: Literal["syslog"] = Field(description='"syslog": a receiver; messages are parsed as with '
                                    'parser = "syslog" (RFC 5424 and RFC 3164).')
    listen: list[str] = Field(
        min_length=1, description='Where to receive: "udp://HOST:PORT", "tcp://HOST:PORT" or '
        '"unix:///PATH" (a datagram socket like /dev/log, mode 0666, removed at stop).')
    framing: Literal["auto", "octet", "newline"] = Field(
        default="auto", description='TCP framing: "auto" (octet counting when a frame starts with a '
        'digit, else up to a newline), "octet" (RFC 6587 octet counting only) or "newline".')
    max_message_bytes: int = Field(
        default=65536, ge=480, le=16 << 20, description="Longer messages are cut to this size (the "
        "rest is skipped; counted as pieces in the source's stats).")
    tls: TlsConfig | None = Field(
        default=None, description="TLS on the tcp:// listeners (RFC 5425): cert_file and key_file "
        "are required; with ca_file, clients must present a certificate it signed.")
    timezone: TimeZone = Field(default="local", description='For RFC 3164 times (no zone): "local", '
                          '"UTC" or an IANA name.')

    @field_validator("listen")
    @classmethod
    def _addresses(cls, urls: list[str]) -> list[str]:
        seen: set[str] = set()
        for url in urls:
            addr = Address.parse(url)
            if str(addr) in seen:
                raise ValueError(f'"{url}" is listed twice')
            seen.add(str(addr))
        return urls

    @field_validator("tls")
    @classmethod
    def _tls_fits(cls, tls: TlsConfig | None, info: ValidationInfo) -> TlsConfig | None:
        urls = info.data.get("listen")  # absent when `listen` itself is invalid
        if tls is None or urls is None:
            return tls
        if not any(Address.parse(u).scheme == "tcp" for u in urls):
            raise ValueError('only used on tcp:// listeners, and "listen" has none')
        if tls.cert_file is None:
            raise ValueError("a listener needs cert_file and key_file")
        return tls

    @property
    def addresses(self) -> list[Address]:
        return [Address.parse(u) for u in self.listen]
