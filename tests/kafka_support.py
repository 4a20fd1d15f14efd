"""librdkafka's mock Kafka cluster, held by the test process, for the kafka sink's tests.

`MockKafka` starts the mock cluster bundled with confluent_kafka's librdkafka (through
ctypes: confluent_kafka exposes no mock control) on 127.0.0.1 ports of this process;
the daemon under test reaches it as `bootstrap` while the object lives. Through the C
API it can also take every broker down and up again at the same addresses (`down`,
`up`: connections are closed and new ones refused), create a topic with a partition
count (`create_topic`; others are created on first use with 4 partitions), and make the
brokers answer the next Produce requests with an error (`fail_produce`).

`read(topics, n)` reads back with a real `confluent_kafka.Consumer`: every record of the
topics from the beginning, as `Record`s in partition order (a partition's records in
their offset order).

What the mock is not: one process, no disk, no replication (acks=all is answered by the
leader alone), no broker-side `message.max.bytes`, no authentication or TLS, no real
network faults (a down broker refuses at once, it never hangs).
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
import time
from dataclasses import dataclass

import confluent_kafka

PRODUCE_API = 0  # Kafka's ApiKey of Produce requests


def _librdkafka() -> ctypes.CDLL:
    folder = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
    found = glob.glob(os.path.join(folder, "librdkafka*.so*"))
    lib = ctypes.CDLL(found[0] if found else "librdkafka.so.1")
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    for name in ("rd_kafka_mock_broker_set_down", "rd_kafka_mock_broker_set_up"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                               ctypes.c_int]
    lib.rd_kafka_mock_push_request_errors_array.argtypes = [
        ctypes.c_void_p, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]
    return lib


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


class MockKafka:
    """A mock cluster of `brokers` brokers; see the module doc."""

    def __init__(self, brokers: int = 3) -> None:
        self.lib = lib = _librdkafka()
        self.brokers = brokers
        conf = lib.rd_kafka_conf_new()
        err = ctypes.create_string_buffer(512)
        lib.rd_kafka_conf_set(conf, b"log_level", b"0", err, 512)
        self.rk = lib.rd_kafka_new(0, conf, err, 512)
        assert self.rk, err.value
        self.cluster = lib.rd_kafka_mock_cluster_new(self.rk, brokers)
        assert self.cluster
        self.bootstrap: str = lib.rd_kafka_mock_cluster_bootstraps(self.cluster).decode()

    def down(self) -> None:
        for broker in range(1, self.brokers + 1):
            self.lib.rd_kafka_mock_broker_set_down(self.cluster, broker)

    def up(self) -> None:
        for broker in range(1, self.brokers + 1):
            self.lib.rd_kafka_mock_broker_set_up(self.cluster, broker)

    def create_topic(self, topic: str, partitions: int) -> None:
        self.lib.rd_kafka_mock_topic_create(self.cluster, topic.encode(), partitions, 1)

    def fail_produce(self, *codes: int) -> None:
        """The next len(codes) Produce requests are answered with these error codes."""
        array = (ctypes.c_int * len(codes))(*codes)
        self.lib.rd_kafka_mock_push_request_errors_array(self.cluster, PRODUCE_API, len(codes), array)

    def read(self, topics: list[str], n: int, timeout: float = 10.0, settle: float = 0.0) -> list[Record]:
        """Every record of `topics` once at least `n` arrived (or `timeout` passed), then
        `settle` seconds more (to see extra copies), in (topic, partition, offset) order."""
        consumer = confluent_kafka.Consumer({
            "bootstrap.servers": self.bootstrap, "group.id": f"test-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 0})
        got: list[Record] = []
        try:
            deadline = time.monotonic() + timeout
            assigned: set[str] = set()
            end: float | None = None
            while time.monotonic() < (end or deadline):
                if len(assigned) < len(topics):  # assigned, not subscribed: no group to join
                    meta = consumer.list_topics(timeout=2).topics
                    new = [t for t in topics if t not in assigned and t in meta and meta[t].partitions]
                    if new:
                        assigned.update(new)
                        consumer.incremental_assign([
                            confluent_kafka.TopicPartition(t, p, confluent_kafka.OFFSET_BEGINNING)
                            for t in new for p in meta[t].partitions])
                    if not assigned:
                        time.sleep(0.1)
                        continue
                for m in consumer.consume(10000, 0.2):
                    if m.error() is None:
                        got.append(Record(m.topic(), m.partition(), m.offset(), m.key(), m.value(),
                                          dict(m.headers() or [])))
                if end is None and len(got) >= n:
                    end = time.monotonic() + settle
        finally:
            consumer.close()
        return sorted(got, key=lambda r: (r.topic, r.partition, r.offset))

    def close(self) -> None:
        if self.cluster:
            self.lib.rd_kafka_mock_cluster_destroy(self.cluster)
            self.cluster = None
        if self.rk:
            self.lib.rd_kafka_destroy(self.rk)
            self.rk = None


class KafkaHarness:
    """The sink contract's harness for `kafka` (`tests.contract.harness.SINK_HARNESSES`;
    the same interface as `SinkHarness`, which it cannot subclass without an import
    cycle). A `MockKafka`; form `n` produces raw lines to topic `form<n>` (one partition:
    arrival order is production order), read back by a consumer thread as they arrive.
    Down: every broker down (connections closed and refused) at the same addresses."""

    kind = "kafka"
    fault = True
    # acknowledged once the broker has it; the reading consumer fetches it a moment later
    in_transit = 3.0

    def __init__(self, work: object) -> None:
        self.work = work
        self.mock = MockKafka()
        for form in (0, 1):
            self.mock.create_topic(f"form{form}", 1)
        self._got: list[tuple[int, bytes]] = []
        self._next = [0, 0]  # per form: the offset after the last record read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = confluent_kafka.Consumer({
            "bootstrap.servers": self.mock.bootstrap, "group.id": "contract", "log_level": 0,
            "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        # a second client asks for the topics' ends: the reading one blocks in its thread
        self._probe = confluent_kafka.Consumer({"bootstrap.servers": self.mock.bootstrap,
                                                "group.id": "probe", "log_level": 0})
        self._consumer.assign([confluent_kafka.TopicPartition(f"form{f}", 0, confluent_kafka.OFFSET_BEGINNING)
                               for f in (0, 1)])
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            for m in self._consumer.consume(10000, 0.05):
                if m.error() is None:
                    form = int(m.topic().removeprefix("form"))
                    with self._lock:
                        self._got.append((form, m.value()))
                        self._next[form] = m.offset() + 1

    def sink_toml(self, form: int, linger: bool = False) -> str:
        brokers = ", ".join(f'"{b}"' for b in self.mock.bootstrap.split(","))
        return f'type = "kafka"\nbrokers = [{brokers}]\ntopic = "form{form}"\nformat = "raw"\n'

    def arrived(self) -> list[tuple[int, bytes]]:
        """What the brokers hold: read up to each topic's end as of this call (while the
        brokers are down: what was read before)."""
        try:
            ends = [self._probe.get_watermark_offsets(
                confluent_kafka.TopicPartition(f"form{f}", 0), timeout=2, cached=False)[1] for f in (0, 1)]
        except confluent_kafka.KafkaException:
            ends = [0, 0]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self._lock:
                if all(self._next[f] >= ends[f] for f in (0, 1)):
                    break
            time.sleep(0.01)
        with self._lock:
            return list(self._got)

    def daemon_args(self) -> dict[str, object]:
        return {}

    def down(self) -> None:
        self.mock.down()

    def up(self) -> None:
        self.mock.up()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        self._probe.close()
        self.mock.close()
