"""The `syslog` sink: each entry as one syslog message (RFC 5424 or RFC 3164) over UDP, TCP
or TLS (`tls://`, RFC 5425: octet counting, the `tls` table; see `transport`).

Work split:
- `build_syslog_formatter(cfg)` runs in the consumer threads (in parallel): for a batch it
  builds every message — PRI from the facility and the entry's level, the protocol's
  header, MSG — and frames it. TCP payloads are the final wire bytes: RFC 6587 octet
  counting `LEN SP MSG` (default) or `MSG LF` with `framing = "newline"` (LFs inside a
  message written `\\n`). UDP payloads are octet-counted too, which the sink splits back
  into one datagram per message. Rejected: a neutral payload re-framed by the sink thread,
  which is the one serial point of the sink; only UDP, which must split anyway, pays it.
- `SyslogSink` (one thread) sends payloads; see `transport` for reconnects and
  delivery guarantees (TCP: at-least-once, a message may repeat after a reconnect).

Size limits: over UDP a message is at most `UDP_LIMITS[protocol]` bytes — 2048 for
rfc3164 (twice RFC 3164's 1024, what RFC 5426 asks every receiver to accept) and 8192 for
rfc5424 (rsyslog's default `maxMessageSize`; no fragmentation on loopback, IP fragments
on a 1500-byte network). Past it MSG is cut at a UTF-8 character boundary; the header is
never cut (an RFC 5424 header too long for the limit loses its structured data first).
A message is never split over datagrams. Over TCP logproc does not cut: a line is at most
the source's `max_line_bytes`, and the receiver's own limit applies (rsyslog:
`maxMessageSize`, default 8 KiB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logproc.config.tls import TlsConfig
from logproc.sinks.base import Delivery, Sink
from logproc.sinks.formats import Formatter
from logproc.sinks.syslog.message import build_message_texts as _message_texts
from logproc.sinks.syslog.message import (
    facility_code,
    frame_newline,
    frame_octet,
    severity,
    truncate_utf8,
)
from logproc.sinks.syslog.rfc3164 import Rfc3164
from logproc.sinks.syslog.rfc5424 import Rfc5424
from logproc.sinks.syslog.transport import TcpTransport, UdpTransport, parse_address

if TYPE_CHECKING:
    from logproc.sinks.syslog.config import SyslogSinkConfig

__all__ = ["UDP_LIMITS", "SyslogSink", "build_syslog_formatter"]

UDP_LIMITS = {"rfc3164": 2048, "rfc5424": 8192}


def build_syslog_formatter(cfg: SyslogSinkConfig) -> Formatter:
    """`formatter(entries, raws) -> bytes`: the framed messages of a batch, in entry order
    (see the module doc for the framing per transport). Reads `entries` (severity, header
    fields, MSG) and, for `format = "raw"`, `raws`."""
    scheme, _, _ = parse_address(cfg.address)
    facility8 = facility_code(cfg.facility) * 8
    header = (Rfc5424(cfg.app_name) if cfg.protocol == "rfc5424" else Rfc3164(cfg.app_name)).header
    texts = _message_texts(cfg)
    limit = UDP_LIMITS[cfg.protocol] if scheme == "udp" else 0  # tls: framing is octet (schema)
    frame = frame_newline if scheme == "tcp" and cfg.framing == "newline" else frame_octet

    def format_syslog(entries: list[dict[str, Any]] | None, raws: list[bytes]) -> bytes:
        if not entries:
            return b""
        out: list[bytes] = []
        for entry, text in zip(entries, texts(entries, raws), strict=True):
            pri = facility8 + severity(entry.get("level"))
            head = header(entry, pri)
            msg = text
            if limit and len(head) + 1 + len(msg) > limit:
                if len(head) + 1 > limit // 2:  # a huge SD (file path): drop it, keep MSG
                    head = header(entry, pri, without_sd=True)
                msg = truncate_utf8(msg, limit - len(head) - 1)
            out.append(frame(head + b" " + msg if msg else head))
        return b"".join(out)

    return format_syslog


class SyslogSink(Sink):
    """Sends the consumers' framed payloads to `cfg.address`; see `transport`."""

    def __init__(self, name: str, cfg: SyslogSinkConfig) -> None:
        self.name = name
        scheme, host, port = parse_address(cfg.address)
        self.transport: UdpTransport | TcpTransport = (
            UdpTransport(name, host, port) if scheme == "udp"
            else TcpTransport(name, host, port, cfg.tls or TlsConfig() if scheme == "tls" else None))

    def write(self, deliveries: list[Delivery]) -> None:
        payloads = [d.payload for d in deliveries if d.payload]
        if payloads:
            self.transport.send(payloads)

    def reopen(self) -> None:
        """Nothing to reopen (SIGUSR1 is for files); a dropped connection heals on its own."""

    def close(self) -> None:
        self.transport.close()
