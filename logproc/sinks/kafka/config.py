"""The `kafka` sink's config.

Checked when the config is loaded: every broker is "host:port"; `topic` and `key` are
templates naming entry fields only; a topic with no field is a legal Kafka topic name
(and the literal parts of one with fields hold only legal characters: what a field
renders to is checked per record, and a record whose topic is not legal is
dead-lettered); `tls.server_name` is refused (librdkafka checks the broker's own
advertised name: there is nothing to set it to). The settings librdkafka will get,
`librdkafka` pass-through included, are tried on a throwaway client (`settings.check`),
so an unknown or contradictory setting is a config error at load and at reload, never a
sink that cannot be built.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from logproc.config.fields import Template
from logproc.config.suggest import quote
from logproc.config.tls import TlsConfig
from logproc.sinks.base import SinkBase

#: Kafka's own rule for topic names (kafka.common.internals.Topic)
TOPIC_CHARS = re.compile(r"[A-Za-z0-9._-]*")
TOPIC_MAX = 249


def topic_problem(topic: str) -> str | None:
    """Why `topic` is not a legal Kafka topic name (None: it is)."""
    if not topic:
        return "a topic name cannot be empty"
    if len(topic) > TOPIC_MAX:
        return f"a topic name is at most {TOPIC_MAX} characters, this one {len(topic)}"
    if topic in (".", "..") or not TOPIC_CHARS.fullmatch(topic):
        return f"invalid topic name {quote(topic)}: letters, digits, \".\", \"_\" and \"-\" only"
    return None


def _broker(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not (sep and host and port.isdigit() and 1 <= int(port) <= 65535) or "," in value or " " in value:
        raise ValueError(f'expected "host:port" such as "kafka1:9092", got {quote(value)}')
    return value


def _topic(template: str) -> str:
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    if not fields:
        problem = topic_problem(template)
        if problem:
            raise ValueError(problem)
        return template
    literal = "".join(lit for lit, _, _, _ in string.Formatter().parse(template))
    if not TOPIC_CHARS.fullmatch(literal):
        raise ValueError(f"the topic {quote(template)} has characters a topic name cannot "
                         'hold: letters, digits, ".", "_" and "-" only')
    return template


Broker = Annotated[str, AfterValidator(_broker)]
LibrdkafkaValue = str | bool | int | float


class SaslConfig(BaseModel):
    """SASL authentication to the brokers (over TLS when `tls` is set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        description='The SASL mechanism: "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512" (others, '
        "such as OAUTHBEARER, through `librdkafka`).")
    username: str = Field(min_length=1, description="The SASL user name.")
    password: str = Field(min_length=1, description="The SASL password (masked in logs and "
                          "`check`; write it as `${NAME}` to keep it out of the file).")


class KafkaSinkConfig(SinkBase):
    """Produces each entry as one Kafka record; see `logproc.sinks.kafka`."""

    type: Literal["kafka"] = Field(description='"kafka": each entry as one record in a Kafka topic.')
    brokers: list[Broker] = Field(
        min_length=1, description='Bootstrap brokers, "host:port" each: ["kafka1:9092", "kafka2:9092"].')
    topic: Annotated[Template, AfterValidator(_topic)] = Field(
        description='The topic; may name entry fields: "logs-{source}". A record whose topic '
        "renders to an illegal name goes to the dead-letter file.")
    key: Template | None = Field(
        default=None, description='The record key, a template naming entry fields ("{host}"): '
        "records with the same key go to the same partition, in order. Absent: no key (records "
        "spread over partitions).")
    compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = Field(
        default="zstd", description="How record batches are compressed on the wire.")
    librdkafka: dict[str, LibrdkafkaValue] = Field(
        default={}, description="Further librdkafka producer settings, passed through as given "
        '({ "linger.ms" = 20, "partitioner" = "murmur2_random" }). Applied last: they override '
        "what logproc sets, including the delivery guarantee (enable.idempotence, acks, "
        "message.timeout.ms). Write secrets as `${NAME}` (masked in logs).")
    tls: TlsConfig | None = Field(
        default=None, description="TLS to the brokers: ca_file, cert_file + key_file (a client "
        "certificate), verify.")
    sasl: SaslConfig | None = Field(
        default=None, description="SASL authentication: { mechanism, username, password }.")

    @model_validator(mode="after")
    def _settings_work(self) -> KafkaSinkConfig:
        if self.tls is not None and self.tls.server_name is not None:
            raise ValueError("tls.server_name is not supported by the kafka sink: librdkafka "
                             "checks each broker's certificate against the name it advertises")
        from logproc.sinks.kafka.settings import check, producer_settings
        problem = check(producer_settings(self, "check"))
        if problem:
            raise ValueError(f"librdkafka refuses the settings: {problem}")
        return self
