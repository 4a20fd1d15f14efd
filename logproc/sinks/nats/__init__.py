"""The `nats` sink: each entry published as one NATS message, by default into a JetStream
stream with the entry's stable identity as `Nats-Msg-Id` (exactly once within the
stream's duplicate window, a restart after a crash included).

- the consumers' half: `framing.build_nats_formatter`, entries to messages framed as
  ready-to-send protocol commands, all but their reply subject;
- the sink's half: `sink.NatsSink`, synchronous in its thread, speaking the protocol
  itself on a socket of its own (`handshake`, `connection`, `protocol`) and publishing
  pipelined (`publish`). nats-py is not used by the sink (its tests use it); the `nkeys`
  package (a dependency) signs with a .creds file's seed.
"""

from __future__ import annotations

from typing import Any

from logproc.config.suggest import quote
from logproc.config.tls import warn_unverified
from logproc.sinks.base import Sink
from logproc.sinks.formats import needs_entries as lines_need_entries
from logproc.sinks.kind import AT_MOST_ONCE, EXACTLY_ONCE, SinkKind, always, sends
from logproc.sinks.nats.config import NatsSinkConfig, shown_urls
from logproc.sinks.nats.framing import IdFormatter, build_nats_formatter, names_fields


def build(name: str, cfg: Any, dead_letters: Any) -> Sink:
    from logproc.sinks.nats.sink import NatsSink
    warn_unverified(name, cfg)
    return NatsSink(name, cfg, dead_letters)


def needs_entries(cfg: Any) -> bool:
    """A subject naming fields reads entries; else as any line-writing sink."""
    return names_fields(cfg.subject) or lines_need_entries(cfg)


def raw_only(cfg: Any) -> bool:
    """The bodies of `format = "raw"` are the lines; the subject may still read fields."""
    return bool(cfg.format == "raw" and not names_fields(cfg.subject))


def formatter(cfg: Any) -> IdFormatter:
    return build_nats_formatter(cfg)


def describe(cfg: Any) -> str:
    guarantee = (f"{EXACTLY_ONCE} (ids, JetStream, within the stream's duplicate window)"
                 if cfg.jetstream else f"{AT_MOST_ONCE} (core NATS)")
    return sends(f"{shown_urls(cfg)} subject {quote(cfg.subject)}", guarantee)


KIND = SinkKind("nats", NatsSinkConfig, build, formatter=formatter,  # type: ignore[arg-type]
                needs_entries=needs_entries, raw_only=raw_only, uses_ids=always, describe=describe)
