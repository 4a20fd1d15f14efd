"""`SinkKind`: everything logproc knows about one kind of sink, declared by its package.

A sink package (`logproc/sinks/<kind>/__init__.py`) defines `KIND = SinkKind(...)` and is
named once in `logproc.sinks.registry`. From the declaration follow:

- the config schema: `config` joins the `type` union of `[sinks.*]` (its choices and
  did-you-mean come with it);
- the consumers' per-entry half: `formatter(cfg)` runs on every batch routed to the sink,
  in consumer threads or worker processes (which rebuild it from the config's plain
  values, so it must depend on nothing else);
- whether the sink's sources must be parsed (`needs_entries`) and whether the formatter
  reads raw lines only (`raw_only`);
- whether the formatter takes the entries' stable identities (`uses_ids`: then it is
  called as `formatter(entries, raws, ids)`, `ids` aligned with the entries or None when
  the source gives none);
- the runner's batching: `linger(cfg)` → (seconds to wait for more once something waits,
  entries worth waiting for);
- the sink object in the runner's thread: `build(name, cfg, dead_letters)`, a
  `logproc.sinks.base.Sink`; its module is imported there, so a config without the kind
  never loads its libraries;
- what `logproc check` prints after the type: `describe(cfg)`, where it sends and with
  which guarantee, written `sends(where, guarantee)`: ` <where> (<details>) — <guarantee>`,
  the guarantee one of `AT_LEAST_ONCE`, `AT_MOST_ONCE`, `EXACTLY_ONCE` with, in
  parentheses, what it rests on (`exactly once (ids, create)`).

The defaults fit a sink that writes formatted lines (`stdout`, `file`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logproc.sinks.base import SinkBase
from logproc.sinks.formats import Formatter, build_formatter, needs_entries

if TYPE_CHECKING:
    from logproc.sinks.base import Sink
    from logproc.sinks.deadletter import DeadLetters


def always(_cfg: Any) -> bool:
    return True


def never(_cfg: Any) -> bool:
    return False


def lines_raw_only(cfg: Any) -> bool:
    """A line-writing sink reads raw lines only for `format = "raw"` (or when nothing is parsed)."""
    return cfg.format == "raw" or not needs_entries(cfg)


def no_linger(_cfg: Any) -> tuple[float, int]:
    return 0.0, 0


AT_LEAST_ONCE = "at least once"  # acknowledged by the destination; a retry may repeat
AT_MOST_ONCE = "at most once"  # sent, never acknowledged: what the network drops is lost
EXACTLY_ONCE = "exactly once"  # at least once, and the destination drops the repeats by id


def sends(where: str, guarantee: str) -> str:
    """A `describe` text: ` <where> — <guarantee>`."""
    return f" {where} — {guarantee}"


def nothing(_cfg: Any) -> str:
    return ""


@dataclass(frozen=True)
class SinkKind:
    """A sink kind as the rest of logproc knows it (see the module doc)."""

    name: str  # the config's `type`
    config: type[SinkBase]
    build: Callable[[str, Any, DeadLetters], Sink]
    formatter: Callable[[Any], Formatter] = build_formatter
    needs_entries: Callable[[Any], bool] = needs_entries
    raw_only: Callable[[Any], bool] = lines_raw_only
    uses_ids: Callable[[Any], bool] = never
    linger: Callable[[Any], tuple[float, int]] = no_linger
    describe: Callable[[Any], str] = nothing
