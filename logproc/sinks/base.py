"""What every sink kind is made of, and what the pipeline hands a sink.

A sink kind is one package under `logproc/sinks/` declaring a `SinkKind`
(`logproc.sinks.kind`), named once in `logproc.sinks.registry`.

- `SinkBase`: the config keys every sink has (`inputs`, `format`, `template`, `min_level`,
  `include`, `exclude`, `when_full`, `id_field`); a kind's model subclasses it and adds
  `type` and its own keys.
- `Sink`: the object in the sink's thread. The runner calls `write`, `reopen` and `close`
  from that one thread; `set_abort`, `last_attempt`, `retries` and `dead_lettered` are the
  hooks the runner, liveness and metrics read (a sink that retries or dead-letters inside
  one write keeps them current), and `duplicates` (entries its destination already had: a
  re-send it recognised by the entries' ids, counted as delivered). The defaults fit a
  sink that does none of this.
- `Delivery`: the formatted payload of one batch for one sink, and the `ack` to call once
  it is durable. `write` either succeeds for every delivery given, or raises a
  `RetriableSinkError` (tried again, forever, with backoff) or a `FatalSinkError` (those
  entries go to the dead-letter file). Nothing is dropped silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from logproc.config.fields import Regex, Template
from logproc.config.suggest import quote


def noop() -> None:
    """An acknowledgement that does nothing (before a ticket exists, or after it was used)."""


@dataclass(slots=True)
class Delivery:
    source: str
    payload: bytes
    entries: int
    ack: Callable[[], None]
    stream: str = ""  # the batch's stream (one file read in order)


class SinkBase(BaseModel):
    """Keys every sink has; a sink kind subclasses it and adds `type` plus its own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: list[str] | None = Field(
        default=None, description="Source names whose entries this sink receives; absent: every source.")
    format: Literal["json", "logfmt", "text", "raw"] = Field(
        default="json", description="How each entry is written: one JSON object, logfmt pairs, the "
        "`template` text, or the line exactly as read.")
    template: Template | None = Field(
        default=None, description='For format = "text": the line, naming entry fields as `{message}` '
        "(default `{timestamp} {level} [{source}] {message}`).")
    min_level: Literal["trace", "debug", "info", "notice", "warning", "error", "critical"] | None = Field(
        default=None, description="Entries below this level are dropped; entries with no level pass.")
    include: dict[str, Regex] = Field(
        default={}, description="Field → regex: an entry is kept only when every regex is found in "
        "its field (a missing field never matches).")
    exclude: dict[str, Regex] = Field(
        default={}, description="Field → regex: an entry is dropped when any regex is found in its field.")
    when_full: Literal["block", "drop"] = Field(
        default="block", description="What a sink that cannot keep up does: block (backpressure, "
        "nothing lost) or drop (counted, treated as delivered for checkpoints).")
    id_field: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z_@][A-Za-z0-9_.@-]*$",
        description="Add each entry's stable id (the same each time the same line is sent again: "
        "file ident and offset, the journal cursor) as this field, for this sink only. Entries "
        "with no identity (the syslog receiver's) get no field.")

    @field_validator("template")
    @classmethod
    def _template_fits_format(cls, template: str | None, info: ValidationInfo) -> str | None:
        fmt = info.data.get("format")  # `format` is declared first, so it is validated first
        if template is not None and fmt is not None and fmt != "text":
            raise ValueError(f'only used with format = "text", not format = {quote(fmt)}')
        return template

    @field_validator("id_field")
    @classmethod
    def _id_field_needs_fields(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is not None and info.data.get("format") == "raw":
            raise ValueError('a raw line has no fields: not with format = "raw"')
        return name


class Sink:
    """The sink object the runner drives, from the sink's own thread only."""

    name: str = ""
    #: monotonic time until which the attempt in progress may legitimately run (a sink that
    #: retries inside one write moves it); liveness judges a write stuck past it
    last_attempt: float = 0.0
    retries: int = 0  # attempts retried inside `write` (counted with the runner's own)
    dead_lettered: int = 0  # entries dead-lettered inside `write` (some requests or items)
    duplicates: int = 0  # entries the destination already had (by id): delivered before

    def set_abort(self, event: threading.Event) -> None:
        """The runner's abort event (shutdown deadline passed): stop retrying once it is set."""

    def write(self, deliveries: list[Delivery]) -> None:
        """Write and flush every delivery, or raise a SinkError."""
        raise NotImplementedError

    def reopen(self) -> None:
        """Reopen output files (SIGUSR1, after logrotate moved them). No-op by default."""

    def close(self) -> None:
        """Flush and release everything; called once, last."""
