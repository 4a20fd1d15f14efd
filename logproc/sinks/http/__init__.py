"""The `http` sink (placeholder: being written)."""

from __future__ import annotations

from typing import Any

from logproc.sinks.deadletter import DeadLetters


class HttpSink:
    name: str

    def __init__(self, name: str, cfg: Any, dead_letters: DeadLetters) -> None:
        raise NotImplementedError("the http sink is not written yet")

    def write(self, deliveries: list[Any]) -> None: ...

    def reopen(self) -> None: ...

    def close(self) -> None: ...


def build_http_formatter(cfg: Any) -> Any:
    raise NotImplementedError("the http sink is not written yet")
