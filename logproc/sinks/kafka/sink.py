"""The `kafka` sink's thread: the consumers' frames produced as records, a write returning
once the brokers acknowledged every one of them.

Contract (`write(deliveries)`; the runner acknowledges them all when it returns):
- every frame (`framing.records`) is produced with its topic, key, value and, when the
  source gave one, the header `logproc-id`; then `flush` waits for the brokers' answers
  (`acks = all`, idempotent: see `settings`), polling every `POLL` seconds so `last_attempt`
  moves (a broker outage is a wait, not a wedge) and the abort event is heard;
- a record refused for good (`PERMANENT`: too large, invalid, a topic that does not exist
  or may not be written, an illegal topic name found here) goes to the dead-letter file
  with the error's name, and the others of the write are delivered (this sink's
  `dead_lettered` counts it: the runner does not count it as written);
- any other failure report (a local timeout set through `librdkafka`) has the record
  produced again after a jittered backoff, until delivered: after the other records of
  its write, so its order against them may change. Retriable broker errors never get
  here: librdkafka retries them itself, forever (`message.timeout.ms = 0`);
- a fatal producer error (the idempotent producer lost its sequence: it cannot go on), or
  a record librdkafka will not even queue for a reason not in `PERMANENT`: `write` raises
  `RetriableSinkError`; the runner retries the whole write, on a new producer (records
  already delivered arrive twice: at least once, never lost);
- `retries` counts the client errors librdkafka reports while a write waits (each broker
  connection or request that failed and is retried: an outage shows in the sink's error
  and retry metrics) and the records produced again;
- shutdown: once the runner's abort event is set, `write` stops waiting and raises
  (nothing acknowledged; the records already sent may arrive: duplicates after the
  restart, never loss). Any write that raises drops its producer with what it still
  queued, so the next write starts from an empty one;
- the producer is built with the sink (librdkafka's own failures there are a
  `StartupError`), kept across writes, and its queue is empty between writes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from logproc.errors import RetriableSinkError, StartupError
from logproc.log import get_logger
from logproc.sinks.base import Delivery, Sink, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.kafka.config import topic_problem
from logproc.sinks.kafka.diagnostics import Diagnostics
from logproc.sinks.kafka.framing import has_fields, records
from logproc.sinks.kafka.settings import producer_settings
from logproc.sinks.retry import Backoff

log = get_logger("sink")
ID_HEADER = "logproc-id"
POLL = 0.1  # seconds per wait for delivery reports (abort and liveness are checked between)
PERMANENT = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG_SIZE, KafkaError.RECORD_LIST_TOO_LARGE,
    KafkaError.INVALID_RECORD, KafkaError.INVALID_TIMESTAMP, KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    KafkaError.POLICY_VIOLATION, KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.TOPIC_EXCEPTION,
    KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._INVALID_ARG,
})


class Aborted(RetriableSinkError):
    """The runner's shutdown deadline passed while records waited for the brokers."""


class KafkaSink(Sink):
    def __init__(self, name: str, cfg: Any, dead_letters: DeadLetters) -> None:
        self.name = name
        self.topic: str = "" if has_fields(cfg.topic) else cfg.topic
        self.keyed = cfg.key is not None
        self.settings = producer_settings(cfg, name)
        self.dead_letters = dead_letters
        self.diag = Diagnostics(name)
        self.retries = 0
        self.dead_lettered = 0
        self.last_attempt = 0.0
        self._abort = threading.Event()
        self._reports: list[tuple[Any, Any]] = []  # (error, message) of failed records
        self._fatal = False
        self._writing = False  # client errors count as retries only while a write waits
        self._topics: dict[str, str | None] = {}  # topic name -> why it is illegal (None: legal)
        self._producer: Producer | None = None
        try:
            self._producer = self._build()
        except KafkaException as exc:
            raise StartupError(f"sink {name!r}: librdkafka: {exc.args[0].str()}") from None

    def set_abort(self, event: threading.Event) -> None:
        self._abort = event

    # -- the runner's side -------------------------------------------------------------
    def write(self, deliveries: list[Delivery]) -> None:
        self._writing = True
        try:
            for d in deliveries:
                if d.payload:
                    self._produce_payload(d.payload)
            self._settle()
        except BaseException:
            self._discard()
            raise
        finally:
            self._writing = False

    def reopen(self) -> None:
        """Nothing to reopen (librdkafka reconnects by itself)."""

    def close(self) -> None:
        if self._producer is not None:
            if not self._abort.is_set():
                self._producer.flush(POLL)  # empty between writes: serves the last reports
            self._discard()

    # -- producing ---------------------------------------------------------------------
    def _build(self) -> Producer:
        self._fatal = False
        return Producer({**self.settings, "on_delivery": self._report, "error_cb": self._error,
                         "logger": self.diag})

    def _produce_payload(self, payload: bytes) -> None:
        producer = self._producer or self._new()
        produce, topics = producer.produce, self._topics
        for topic, key, value, ident in records(payload, self.topic, self.keyed):
            problem = topics.get(topic, "")
            if problem == "":
                problem = topics[topic] = topic_problem(topic)
            if problem is not None:
                self._dead_letter(value, problem)
                continue
            headers: list[tuple[str, str | bytes | None]] | None = (
                [(ID_HEADER, ident)] if ident is not None else None)
            try:
                produce(topic, value, key, headers=headers)
            except (BufferError, KafkaException):
                self._produce(topic, key, value, headers)

    def _produce(self, topic: str, key: bytes | None, value: bytes, headers: Any) -> None:
        """Produce one record, waiting while librdkafka's queue is full."""
        while True:
            producer = self._producer or self._new()
            try:
                producer.produce(topic, value, key, headers=headers)
                return
            except BufferError:
                self._wait_reports()
            except KafkaException as exc:
                err = exc.args[0]
                if err.code() in PERMANENT:
                    self._dead_letter(value, f"{err.name()}: {err.str()} (topic {topic})")
                    return
                raise RetriableSinkError(f"kafka: cannot queue a record: {err.str()}") from None

    def _settle(self) -> None:
        """Wait until every record produced has its answer; produce again what failed
        retriably, dead-letter what was refused for good."""
        backoff = Backoff(0.2, 10.0)
        while True:
            while self._wait_reports():
                pass
            failed, self._reports = self._reports, []
            again = []
            for err, msg in failed:
                if err.fatal():
                    raise RetriableSinkError(f"kafka producer failed fatally: {err.str()}")
                if err.code() in PERMANENT:
                    self._dead_letter(msg.value(), f"{err.name()}: {err.str()} (topic {msg.topic()})")
                else:
                    again.append((err, msg))
            if not again:
                self.diag.recovered()
                return
            self.retries += 1
            self.diag.error(again[0][0])
            delay = backoff.next()
            self.last_attempt = time.monotonic() + delay
            if self._abort.wait(delay):
                raise Aborted("stopped waiting for kafka: shutdown deadline passed")
            for _, msg in again:
                self._produce(msg.topic(), msg.key(), msg.value(), msg.headers())

    def _wait_reports(self) -> int:
        """Wait up to POLL for delivery reports; the records still waiting (0: none)."""
        producer = self._producer
        if producer is None:  # only after a fatal error, which raised
            return 0
        left = producer.flush(POLL)
        self.last_attempt = time.monotonic()
        if self._fatal:  # the producer cannot go on: the whole write is produced again
            raise RetriableSinkError("kafka producer failed fatally; building a new one")
        if left and self._abort.is_set():
            raise Aborted("stopped waiting for kafka: shutdown deadline passed")
        return left

    def _new(self) -> Producer:
        self._producer = self._build()
        return self._producer

    def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.purge()
            producer.flush(0)  # serves the purge reports (dropped below)
        self._reports = []

    # -- callbacks (served in this thread, by flush) -----------------------------------
    def _report(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._reports.append((err, msg))

    def _error(self, err: Any) -> None:
        if err.fatal():
            self._fatal = True
        elif self._writing:  # librdkafka retries it (a broker unreachable, a request failed)
            self.retries += 1
        self.diag.error(err)

    def _dead_letter(self, value: bytes, reason: str) -> None:
        self.dead_letters.write(self.name, f"kafka refused the record: {reason}",
                                [Delivery("", value + b"\n", 1, noop)])
        self.dead_lettered += 1
