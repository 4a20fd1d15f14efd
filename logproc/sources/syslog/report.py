"""What `logproc check` shows of a syslog source: its addresses, framing, limits and TLS,
and warnings for what would fail at start-up (a port below 1024 without the privilege,
a unix socket's folder that does not exist)."""

from __future__ import annotations

import os
from typing import Any

from logproc.sources.syslog.listeners import Address


def describe(name: str, src: Any) -> list[str]:
    lines = [f"  {name}: syslog receiver, framing {src.framing}, max_message_bytes "
             f"{src.max_message_bytes}, priority {src.priority}"]
    for url in src.listen:
        addr = Address.parse(url)
        extra = ""
        if addr.scheme == "tcp" and src.tls is not None:
            extra = " (TLS, client certificates required)" if src.tls.ca_file else " (TLS)"
        elif addr.scheme == "unix":
            extra = " (datagram socket, mode 0666)"
        lines.append(f"    listen: {addr}{extra}")
    for url in src.listen:
        addr = Address.parse(url)
        if addr.scheme != "unix" and addr.port < 1024 and os.geteuid() != 0:
            lines.append(f"    warning: {addr}: a port below 1024 needs root or CAP_NET_BIND_SERVICE")
        if addr.scheme == "unix" and not os.path.isdir(os.path.dirname(addr.path)):
            lines.append(f"    warning: {addr}: folder {os.path.dirname(addr.path)} does not exist")
    return lines
