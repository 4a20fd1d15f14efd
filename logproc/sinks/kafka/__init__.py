"""The `kafka` sink: each entry as one Kafka record, acknowledged once the brokers have it.

- the consumers' half (`framing`): per entry its topic, key, value (the entry in `format`)
  and stable identity, framed into the delivery's payload; it reads the entries' ids
  (`uses_ids`), which become the header `logproc-id`;
- the sink's half (`sink.KafkaSink`): produces the records through librdkafka
  (confluent_kafka, imported only when a config has a kafka sink: by the config check and
  the sink's build) with an idempotent producer, `acks = all`, and waits for every
  answer before the runner acknowledges (`settings` has every choice and why);
- the guarantee: at least once. A restart after a crash, or a fatal producer error, sends
  again what was sent but not acknowledged; the records carry `logproc-id` so consumers
  can drop the copies.
"""

from __future__ import annotations

from typing import Any

from logproc.config.suggest import quote
from logproc.config.tls import warn_unverified
from logproc.sinks.base import Sink
from logproc.sinks.formats import Formatter
from logproc.sinks.formats import needs_entries as lines_need_entries
from logproc.sinks.kafka.config import KafkaSinkConfig
from logproc.sinks.kafka.framing import has_fields
from logproc.sinks.kind import AT_LEAST_ONCE, SinkKind, always, sends

GUARANTEE = f"{AT_LEAST_ONCE} (records carry logproc-id for consumers to deduplicate)"


def formatter(cfg: Any) -> Formatter:
    from logproc.sinks.kafka.framing import build_kafka_formatter
    return build_kafka_formatter(cfg)  # type: ignore[no-any-return]


def build(name: str, cfg: Any, dead_letters: Any) -> Sink:
    from logproc.sinks.kafka.sink import KafkaSink
    warn_unverified(name, cfg)
    return KafkaSink(name, cfg, dead_letters)


def templated(cfg: Any) -> bool:
    """Whether the topic or the key is read from entry fields."""
    return has_fields(cfg.topic) or has_fields(cfg.key)


def needs_entries(cfg: Any) -> bool:
    return lines_need_entries(cfg) or templated(cfg)


def raw_only(cfg: Any) -> bool:
    return cfg.format == "raw" and not templated(cfg)


def describe(cfg: Any) -> str:
    key = f", key {quote(cfg.key)}" if cfg.key is not None else ""
    return sends(f"{','.join(cfg.brokers)} topic {quote(cfg.topic)}{key} ({cfg.compression})", GUARANTEE)


KIND = SinkKind("kafka", KafkaSinkConfig, build, formatter=formatter, needs_entries=needs_entries,
                raw_only=raw_only, uses_ids=always, describe=describe)
