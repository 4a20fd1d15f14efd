"""The kafka sink end to end: the real `logproc` command producing to librdkafka's mock
cluster (`tests.kafka_support.MockKafka`, held by the test process), read back with a
real `confluent_kafka.Consumer`, checked with the numbered-line oracle.

What the mock cannot show, so these tests do not claim it:
- replication: `acks=all` is answered by the partition leader alone (no ISR, no
  `min.insync.replicas`, no NOT_ENOUGH_REPLICAS);
- a broker's own `message.max.bytes`: the mock accepts any size. The size limit is shown
  on the producer side (librdkafka refuses the record locally), and a broker-side
  refusal by injecting the error code into Produce answers;
- real network faults: a mock broker taken down closes connections and refuses new
  ones at once; a broker that hangs, a partition that drops packets, a slow link are not
  modelled (only librdkafka's own timeouts would show there);
- disk, restarts of the cluster itself (its ports change), authentication, TLS,
  compression on the broker side, quotas and throttling.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
from collections import Counter, defaultdict

import pytest
from confluent_kafka import KafkaError

from logproc.sources.registry import KINDS as SOURCE_KINDS
from logproc.testing import Daemon, check_sequence, numbered, run_once, wait_for
from tests.contract.harness import checkpoint_offsets
from tests.kafka_support import MockKafka, Record

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(20)]

#: whether file sources give their entries stable ids (the identity work): the one
#: condition on which the `logproc-id` header is expected
FILE_IDS = getattr(SOURCE_KINDS["file"], "ids", None) is not None
ID = re.compile(rb"[0-9a-f]{16}-([0-9a-f]+)")


@pytest.fixture(name="kafka")
def fixture_kafka():
    mock = MockKafka()
    yield mock
    mock.close()


def kafka_config(write_config, kafka, sink="", sources=None, daemon=""):
    brokers = json.dumps(kafka.bootstrap.split(","))
    sources = sources or '[sources.app]\npaths = ["{work}/logs/app.log"]\n'
    head = ""
    if daemon:
        head = ('[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n'
                f"checkpoint_interval = 0.2\n{daemon}\n\n")
    return write_config(f'{head}{sources}\n[sinks.k]\ntype = "kafka"\nbrokers = {brokers}\n{sink}\n')


def ok(result):
    assert result.returncode == 0, result.stderr.decode()
    return result.stderr.decode()


def seq(record: Record) -> int:
    return int(re.search(rb"seq=(\d+)", record.value).group(1))


def in_partition_order(records: list[Record]) -> None:
    by_partition = defaultdict(list)
    for r in records:  # read in (topic, partition, offset) order
        by_partition[r.topic, r.partition].append(seq(r))
    for where, seqs in by_partition.items():
        assert seqs == sorted(seqs), f"out of order in {where}"


def dead_letters(work):
    path = work / "state" / "dead-letter.jsonl"
    return [json.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


# -- delivery ----------------------------------------------------------------------------
def test_numbered_lines_arrive_once_each_in_partition_order(work, write_config, kafka):
    n = 3000
    (work / "logs" / "app.log").write_bytes(numbered(0, n, "kafka"))
    ok(run_once(kafka_config(write_config, kafka, 'topic = "logs"\nformat = "raw"'), timeout=15))
    records = kafka.read(["logs"], n, settle=0.3)
    assert len(records) == n
    check_sequence([r.value for r in records], n)
    in_partition_order(records)
    assert all(r.key is None for r in records)
    assert checkpoint_offsets(work, "app") == [(work / "logs" / "app.log").stat().st_size]


def test_topic_names_the_source(work, write_config, kafka):
    sources = ('[sources.web]\npaths = ["{work}/logs/web.log"]\n'
               '[sources.db]\npaths = ["{work}/logs/db.log"]\n')
    (work / "logs" / "web.log").write_bytes(numbered(0, 300, "web"))
    (work / "logs" / "db.log").write_bytes(numbered(0, 200, "db"))
    ok(run_once(kafka_config(write_config, kafka, 'topic = "logs-{source}"', sources), timeout=15))
    records = kafka.read(["logs-web", "logs-db"], 500, settle=0.3)
    web = [r for r in records if r.topic == "logs-web"]
    db = [r for r in records if r.topic == "logs-db"]
    assert len(web) == 300 and len(db) == 200
    check_sequence([r.value for r in web], 300)
    check_sequence([r.value for r in db], 200)
    assert all(json.loads(r.value)["source"] == "web" for r in web)
    assert all(b" db " in r.value for r in db)


def test_same_key_same_partition_in_order(work, write_config, kafka):
    kafka.create_topic("keyed", 6)
    n, users = 1200, 7
    lines = "".join(json.dumps({"message": f"seq={i}", "user": f"u{i % users}"}) + "\n" for i in range(n))
    (work / "logs" / "app.log").write_text(lines)
    sources = '[sources.app]\npaths = ["{work}/logs/app.log"]\nparser = "json"\n'
    ok(run_once(kafka_config(write_config, kafka, 'topic = "keyed"\nkey = "{user}"', sources), timeout=15))
    records = kafka.read(["keyed"], n, settle=0.3)
    assert len(records) == n
    check_sequence([r.value for r in records], n)
    partitions = defaultdict(set)
    for r in records:
        assert r.key == json.loads(r.value)["user"].encode()
        partitions[r.key].add(r.partition)
    assert len(partitions) == users
    assert all(len(p) == 1 for p in partitions.values()), partitions
    assert len({p for ps in partitions.values() for p in ps}) > 1, "every key in one partition"
    in_partition_order(records)


def test_records_carry_logproc_id(work, write_config, kafka):
    data = numbered(0, 500, "ids")
    (work / "logs" / "app.log").write_bytes(data)
    ok(run_once(kafka_config(write_config, kafka, 'topic = "ids"\nformat = "raw"'), timeout=15))
    records = kafka.read(["ids"], 500, settle=0.3)
    assert len(records) == 500
    if not FILE_IDS:  # file sources give no ids yet: no header
        assert all("logproc-id" not in r.headers for r in records)
        return
    ends = [0, *(m.end() for m in re.finditer(rb"\n", data))]
    line_at = {a: data[a:b - 1] for a, b in itertools.pairwise(ends)}  # offset -> line
    ids = [r.headers["logproc-id"] for r in records]
    assert len(set(ids)) == 500
    for r, ident in zip(records, ids, strict=True):
        m = ID.fullmatch(ident)
        assert m, ident
        assert line_at[int(m.group(1), 16)] == r.value, "the id names the line's offset"


# -- refusals ----------------------------------------------------------------------------
def test_record_too_large_is_dead_lettered(work, write_config, kafka):
    big = 40
    lines = numbered(0, big, "small") + numbered(big, 1, "big", pad=5000) + numbered(big + 1, 59, "small")
    (work / "logs" / "app.log").write_bytes(lines)
    sink = 'topic = "sized"\nformat = "raw"\nlibrdkafka = { "message.max.bytes" = 2000 }'
    ok(run_once(kafka_config(write_config, kafka, sink), timeout=15))
    records = kafka.read(["sized"], 99, settle=0.3)
    check_sequence([r.value for r in records], set(range(100)) - {big})
    letters = dead_letters(work)
    assert len(letters) == 1
    assert "MSG_SIZE_TOO_LARGE" in letters[0]["reason"] and letters[0]["sink"] == "k"
    assert letters[0]["entry"].startswith(f"seq={big} big ")
    assert checkpoint_offsets(work, "app") == [len(lines)]


def test_broker_refusal_is_dead_lettered_the_rest_delivered(work, write_config, kafka):
    """The brokers answer the first Produce request with MESSAGE_TOO_LARGE (what a broker
    with a smaller message.max.bytes says): its records are dead-lettered, every other
    record delivered; together exactly the lines written."""
    kafka.create_topic("refused", 1)
    kafka.fail_produce(KafkaError.MSG_SIZE_TOO_LARGE)
    n = 400
    (work / "logs" / "app.log").write_bytes(numbered(0, n, "r"))
    ok(run_once(kafka_config(write_config, kafka, 'topic = "refused"\nformat = "raw"'), timeout=15))
    letters = dead_letters(work)
    assert letters and all("MSG_SIZE_TOO_LARGE" in d["reason"] for d in letters)
    records = kafka.read(["refused"], n - len(letters), settle=0.3)
    check_sequence([r.value for r in records] + [d["entry"].encode() for d in letters], n)


# -- outages, shutdown, crashes --------------------------------------------------------------
def test_broker_outage_is_backpressure(work, write_config, kafka):
    """Brokers down from the start: nothing acknowledged (the checkpoint stays at 0), the
    daemon stays healthy; up again: every line exactly once, the checkpoint at the end."""
    kafka.down()
    n = 500
    log = work / "logs" / "app.log"
    log.write_bytes(numbered(0, n, "outage"))
    cfg = kafka_config(write_config, kafka, 'topic = "outage"\nformat = "raw"', daemon="shutdown_timeout = 5")
    with Daemon(cfg, env={"LOGPROC_STALL_SECONDS": "1"}) as d:
        d.wait_started()
        wait_for(lambda: "kafka brokers failing" in d.log(), 10, what="the outage logged")
        time.sleep(1.5)  # commits every 0.2 s, stall after 1 s: either would show
        assert checkpoint_offsets(work, "app") in ([], [0]), "acknowledged while the brokers were down"
        assert "stuck" not in d.log()
        kafka.up()
        wait_for(lambda: checkpoint_offsets(work, "app") == [log.stat().st_size], 10,
                 what="the checkpoint at the end of the input")
        assert d.stop() == 0
    records = kafka.read(["outage"], n, settle=0.3)
    check_sequence([r.value for r in records], n)
    assert "kafka delivers again" in d.log()


def test_shutdown_during_outage_keeps_its_deadline_and_loses_nothing(work, write_config, kafka):
    kafka.down()
    n = 300
    log = work / "logs" / "app.log"
    log.write_bytes(numbered(0, n, "late"))
    cfg = kafka_config(write_config, kafka, 'topic = "late"\nformat = "raw"', daemon="shutdown_timeout = 2")
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: "kafka brokers failing" in d.log(), 10, what="the outage logged")
        start = time.monotonic()
        d.signal(signal.SIGTERM)
        code = d.wait(10)
        assert time.monotonic() - start < 5, "shutdown waited past its deadline"
        print(f"exit code {code} with the brokers down at the deadline")
    assert checkpoint_offsets(work, "app") in ([], [0])
    kafka.up()
    ok(run_once(cfg, timeout=15))
    check_sequence([r.value for r in kafka.read(["late"], n, settle=0.3)], n)


def test_sigkill_and_restart_lose_nothing(work, write_config, kafka):
    """Killed while records are in flight, then restarted: every line arrives; lines sent
    but not acknowledged arrive twice (counted), with the same logproc-id."""
    n = 100_000
    log = work / "logs" / "app.log"
    log.write_bytes(numbered(0, n, "crash"))
    cfg = kafka_config(write_config, kafka, 'topic = "crash"\nformat = "raw"', daemon="")
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: checkpoint_offsets(work, "app") and checkpoint_offsets(work, "app")[0] > 0, 10,
                 interval=0.005, what="a first checkpoint")
        d.proc.send_signal(signal.SIGKILL)
        d.wait(10)
    acked = checkpoint_offsets(work, "app")[0]
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: checkpoint_offsets(work, "app") == [log.stat().st_size], 15,
                 what="the checkpoint at the end of the input")
        assert d.stop() == 0
    records = kafka.read(["crash"], n, settle=0.5)
    report = check_sequence([r.value for r in records], n, allow_dups=n)
    print(f"SIGKILL at checkpoint {acked}/{log.stat().st_size} bytes: {report.duplicates} duplicates")
    assert acked < log.stat().st_size, "killed after everything was acknowledged: nothing was tested"
    if FILE_IDS:
        ids = defaultdict(set)
        for r in records:
            ids[r.value].add(r.headers["logproc-id"])
        assert all(len(v) == 1 for v in ids.values()), "a copy carries the id of its original"
    copies = Counter(r.value for r in records)
    assert sum(c - 1 for c in copies.values()) == report.duplicates
