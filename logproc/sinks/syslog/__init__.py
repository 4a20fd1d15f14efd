"""The `syslog` sink (placeholder: being written)."""

from __future__ import annotations

from typing import Any


class SyslogSink:
    name: str

    def __init__(self, name: str, cfg: Any) -> None:
        raise NotImplementedError("the syslog sink is not written yet")

    def write(self, deliveries: list[Any]) -> None: ...

    def reopen(self) -> None: ...

    def close(self) -> None: ...


def build_syslog_formatter(cfg: Any) -> Any:
    raise NotImplementedError("the syslog sink is not written yet")
