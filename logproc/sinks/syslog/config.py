"""The `syslog` sink's config."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from logproc.config.suggest import did_you_mean, quote
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
    if not (sep and scheme in ("udp", "tcp") and colon and host and port.isdigit()
            and 1 <= int(port) <= 65535):
        raise ValueError(f'expected "udp://host:port" or "tcp://host:port", got {quote(address)}')
    return address


class SyslogSinkConfig(SinkBase):
    """Sends each entry as one syslog message over UDP or TCP."""

    type: Literal["syslog"] = Field(description='"syslog": each entry as one syslog message.')
    address: Annotated[str, AfterValidator(_syslog_address)] = Field(
        description='Where to send: "udp://host:port" or "tcp://host:port".')
    protocol: Literal["rfc5424", "rfc3164"] = Field(
        default="rfc5424", description="The message format: RFC 5424, or the BSD format of RFC 3164.")
    facility: Annotated[str | int, AfterValidator(_facility)] = Field(
        default="user", description='The facility: a name ("daemon", "local0" …) or a number 0 to 23.')
    app_name: str = Field(default="logproc", min_length=1, max_length=48,
                          description="APP-NAME (RFC 5424) or TAG (RFC 3164) of every message.")
    framing: Literal["octet", "newline"] = Field(
        default="octet", description="TCP framing (RFC 6587): octet counting, or one message per line.")
    format: Literal["json", "logfmt", "text", "raw"] | None = Field(  # type: ignore[assignment]
        default=None, description="MSG: the entry's `message` when absent, else the entry in this format.")
