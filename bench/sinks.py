#!/usr/bin/env python3
"""Throughput into each sink kind on loopback: `logproc run --once` doing J2's work (parse
JSON, drop `level = debug`, add `host = "bench"`) on a JSON log, into one sink at a time:
`file` (format json: the reference), `http` ndjson, `http` elasticsearch, `otlp`
(http/protobuf), `kafka` and `nats` (JetStream).

usage: bench/sinks.py [--lines N] [--repeat R] [--sinks file,http,es,otlp,kafka,nats]
                      [--logproc-cmd CMD] [--receiver fast|split] [--workers N]
                      [--sink-option KEY=VALUE ...] [--encoding LINES]

The input is N JSON lines written here, deterministically (same N, same bytes):
`{"timestamp":"2026-12-01T10:00:00.123Z","level":"info","message":"request 123 handled",
"user":"u1","status":200}` with ~10 % `"level":"debug"`. Every sink has the defaults a
user gets (batching, concurrency, compression) unless `--sink-option` sets a key of the
sink's table, e.g. `--sink-option concurrency=2` (a TOML value).

What receives, on 127.0.0.1, each in a process of its own (not the bench's, whose thread
times logproc), started once per sink kind and emptied between runs:
- http, es, otlp: a threaded HTTP/1.1 keep-alive server that reads the whole body and
  answers in one write, TCP_NODELAY on its sockets (`--receiver split` answers the status
  and headers in one write and the body in another, without TCP_NODELAY, as Python's
  http.server does: the Nagle / delayed-ACK stall that such a receiver can cause). It
  counts the entries it received: ndjson lines; `_bulk` documents, answered
  `{"errors":false,"items":[{"create":{"status":201}},…]}`; OTLP log records (the
  request decoded with opentelemetry-proto), answered 200 with an empty
  ExportLogsServiceResponse;
- kafka: librdkafka's mock cluster (3 brokers, topic of 3 partitions; see
  tests/kafka_support.py), a new one per run, in a process of its own. After the run a
  consumer reads the topic to its end; the mock keeps only the newest records of each
  partition, so the count is the records read plus those it let go (the low watermarks);
- nats: `nats-server -js` (Debian's `nats-server`) with its store in the temporary
  folder; a stream `BENCH` takes `bench.>` (recreated before each run); its message count
  after the run.

Each run's count must be the number of non-debug lines, or the bench stops (showing the
end of logproc's log). Best wall time of `--repeat` runs per sink (fresh state every
run), CPU seconds of logproc's process tree (its worker processes included), input lines
per second, the ratios to the file sink, and the CPU seconds the receiver (or broker)
spent during that run.

`--encoding LINES` measures instead, in this process (this checkout's logproc), what each
sink's encoding costs per entry: the consumers' half (the kind's formatter,
`KINDS[kind].formatter(cfg)`, on J2's entries in steps of 128) and the sink thread's half
before its client library (http: cutting requests and building bodies; kafka and nats:
reading the frames back), on deliveries of one 1 MiB read each.

Needs confluent-kafka (kafka), nats-py (nats) and opentelemetry-proto (otlp) in the Python
running this script: run it with the repo's venv (`.venv/bin/python bench/sinks.py`). With
`--logproc-cmd "python -m logproc"`, the logproc run is the current folder's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SINKS = ("file", "http", "es", "otlp", "kafka", "nats")
LABELS = {"file": "file (json)", "http": "http ndjson", "es": "http elasticsearch",
          "otlp": "otlp http/protobuf", "kafka": "kafka", "nats": "nats JetStream"}
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
CLK_TCK = os.sysconf("SC_CLK_TCK")
READ = 1 << 20  # bytes the file source reads at a time: one batch, one delivery per sink


# -- the input -----------------------------------------------------------------------------
def write_input(path: Path, n: int, seed: int = 20261201) -> int:
    """N lines of J2's input into `path`; the number of lines that are not debug."""
    r = random.Random(seed)
    levels = ("debug",) * 10 + ("info",) * 75 + ("warn",) * 10 + ("error",) * 5
    statuses = (200,) * 12 + (201, 204, 301, 400, 404, 500)
    ms = 0
    kept = 0
    with path.open("wb") as f:
        chunk: list[str] = []
        for i in range(n):
            ms += r.randrange(0, 4)
            s, frac = divmod(ms, 1000)
            m, s = divmod(s, 60)
            h, m = divmod(m, 60)
            level = levels[r.randrange(100)]
            kept += level != "debug"
            chunk.append(
                f'{{"timestamp":"2026-12-01T{10 + h:02d}:{m:02d}:{s:02d}.{frac:03d}Z","level":"{level}",'
                f'"message":"request {i} handled","user":"u{r.randrange(1, 1000)}",'
                f'"status":{statuses[r.randrange(len(statuses))]}}}\n')
            if len(chunk) == 10000:
                f.write("".join(chunk).encode())
                chunk = []
        f.write("".join(chunk).encode())
    return kept


# -- the HTTP receiver (its own process) --------------------------------------------------
def _http_answer(kind: str) -> Callable[[bytes], tuple[int, bytes, bytes]]:
    """`answer(body) -> (entries received, response body, content type)`."""
    if kind == "ndjson":
        return lambda body: (body.count(b"\n"), b'{"accepted":true}', b"application/json")
    if kind == "bulk":
        item = b'{"create":{"status":201}}'

        def bulk(body: bytes) -> tuple[int, bytes, bytes]:
            n = body.count(b"\n") // 2  # an action line and a document line each
            reply = b'{"took":1,"errors":false,"items":[' + b",".join([item] * n) + b"]}"
            return n, reply, b"application/json"
        return bulk
    if kind == "otlp":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        def otlp(body: bytes) -> tuple[int, bytes, bytes]:
            req = ExportLogsServiceRequest.FromString(body)
            n = sum(len(sl.log_records) for rl in req.resource_logs for sl in rl.scope_logs)
            return n, b"", b"application/x-protobuf"  # an empty ExportLogsServiceResponse
        return otlp
    raise ValueError(kind)


def _http_connection(sock: socket.socket, answer: Callable[[bytes], tuple[int, bytes, bytes]],
                     totals: list[int], lock: threading.Lock, split: bool) -> None:
    if not split:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rfile = sock.makefile("rb", 1 << 16)
    try:
        while True:
            line = rfile.readline(65537)
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            length, close = 0, False
            while True:
                header = rfile.readline(65537)
                if header in (b"\r\n", b"\n", b""):
                    break
                name, _, value = header.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            body = rfile.read(length) if length else b""
            entries, reply, ctype = answer(body)
            with lock:
                totals[0] += 1
                totals[1] += entries
            head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (ctype, len(reply))
            if split:  # as http.server: the headers, then the body (no TCP_NODELAY)
                sock.sendall(head)
                if reply:
                    sock.sendall(reply)
            else:
                sock.sendall(head + reply)
            if close:
                return
    except OSError:
        return
    finally:
        rfile.close()
        sock.close()


def http_receiver(pipe: Any, kind: str, split: bool) -> None:
    """The receiver process: sends its port, then answers `stats` with
    (requests, entries, CPU seconds) and starts counting from zero again; `stop` ends it."""
    answer = _http_answer(kind)
    totals = [0, 0]
    lock = threading.Lock()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)

    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_http_connection, args=(sock, answer, totals, lock, split),
                             daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    pipe.send(listener.getsockname()[1])
    while (cmd := pipe.recv()) != "stop":
        assert cmd == "stats"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with lock:
            pipe.send((totals[0], totals[1], usage.ru_utime + usage.ru_stime))
            totals[0] = totals[1] = 0
    listener.close()


# -- the kafka mock cluster (its own process, one per run) --------------------------------
def kafka_cluster(pipe: Any) -> None:
    """Holds a mock cluster: sends its bootstrap servers; on `count`, sends (records the
    topic took, CPU seconds so far). The mock keeps only the newest records of a partition
    (about 270,000 here): its low watermark counts those it let go, and a consumer reads
    the rest to the end (each one must be there and readable)."""
    sys.path.insert(0, str(ROOT))
    import confluent_kafka

    from tests.kafka_support import MockKafka

    mock = MockKafka(brokers=3)
    mock.create_topic("bench", 3)
    pipe.send(mock.bootstrap)
    assert pipe.recv() == "count"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": mock.bootstrap, "group.id": "bench", "enable.auto.commit": False,
        "log_level": 0})
    try:
        meta = consumer.list_topics("bench", timeout=10).topics["bench"]
        parts = [confluent_kafka.TopicPartition("bench", p, confluent_kafka.OFFSET_BEGINNING)
                 for p in meta.partitions]
        marks = [consumer.get_watermark_offsets(p, timeout=10) for p in parts]
        retained = sum(high - low for low, high in marks)
        consumer.assign(parts)
        read = 0
        deadline = time.monotonic() + 120
        while read < retained and time.monotonic() < deadline:
            read += sum(1 for m in consumer.consume(10000, 0.5) if m.error() is None)
    finally:
        consumer.close()
    pipe.send((sum(low for low, _ in marks) + read, cpu))
    mock.close()


# -- nats-server ----------------------------------------------------------------------------
class Nats:
    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        log = open(folder / "nats-server.log", "ab")  # noqa: SIM115 - the child holds it
        with log:
            self.proc = subprocess.Popen([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                                          "-sd", str(folder / "nats-store")], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while True:
            try:
                asyncio.run(self._call(lambda js: js.account_info()))
                return
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("nats-server did not start serving JetStream") from None
                time.sleep(0.1)

    async def _call(self, what: Callable[[Any], Any]) -> Any:
        import nats

        async def quiet(_exc: Exception) -> None:
            pass

        nc = await nats.connect(self.url, connect_timeout=2, allow_reconnect=False, error_cb=quiet)
        try:
            return await what(nc.jetstream())
        finally:
            await nc.close()

    def fresh_stream(self) -> None:
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError

        async def recreate(js: Any) -> None:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream("BENCH")
            await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"]))

        asyncio.run(self._call(recreate))

    def count(self) -> int:
        async def messages(js: Any) -> int:
            return int((await js.stream_info("BENCH")).state.messages)

        return int(asyncio.run(self._call(messages)))

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# -- one run -------------------------------------------------------------------------------
def config(work: Path, log: Path, sink: str, options: list[str], workers: int | None) -> Path:
    daemon = f"{'' if workers is None else f'workers = {workers}'}\n"
    path = work / "logproc.toml"
    path.write_text(
        f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n{daemon}\n'
        f'[sources.bench]\npaths = ["{log}"]\nparser = "json"\nfields = {{ host = "bench" }}\n\n'
        f'[sinks.out]\n{sink}exclude = {{ level = "^debug$" }}\n' + "".join(f"{o}\n" for o in options))
    return path


def timed(cmd: list[str], work: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with (work / "logproc.err").open("wb") as err:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = (work / "logproc.err").read_text(errors="replace")[-3000:]
        raise SystemExit(f"logproc exited with {proc.returncode}:\n{tail}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


class Target:
    """One sink kind: its TOML, what receives it, and the count after a run."""

    def __init__(self, kind: str, work: Path, split: bool) -> None:
        self.kind = kind
        self.work = work
        self.ctx = multiprocessing.get_context("spawn")
        self.proc: Any = None
        self.pipe: Any = None
        self.nats: Nats | None = None
        if kind in ("http", "es", "otlp"):
            self.pipe, child = self.ctx.Pipe()
            mode = {"http": "ndjson", "es": "bulk", "otlp": "otlp"}[kind]
            self.proc = self.ctx.Process(target=http_receiver, args=(child, mode, split), daemon=True)
            self.proc.start()
            self.port = self.pipe.recv()
        elif kind == "nats":
            self.nats = Nats(work)

    def before(self) -> str:
        """Make the receiver ready for a run; the sink's TOML."""
        out = self.work / "out.jsonl"
        if self.kind == "file":
            out.unlink(missing_ok=True)
            return f'type = "file"\npath = "{out}"\nformat = "json"\n'
        if self.kind in ("http", "es"):
            self.pipe.send("stats")  # zero the counts
            _, _, self.cpu0 = self.pipe.recv()
            enc, path = ("ndjson", "/ingest") if self.kind == "http" else ("elasticsearch", "/_bulk")
            return f'type = "http"\nurl = "http://127.0.0.1:{self.port}{path}"\nencoding = "{enc}"\n'
        if self.kind == "otlp":
            self.pipe.send("stats")
            _, _, self.cpu0 = self.pipe.recv()
            return (f'type = "otlp"\nendpoint = "http://127.0.0.1:{self.port}/v1/logs"\n'
                    'protocol = "http/protobuf"\n')
        if self.kind == "kafka":
            self.pipe, child = self.ctx.Pipe()
            self.proc = self.ctx.Process(target=kafka_cluster, args=(child,), daemon=True)
            self.proc.start()
            brokers = ", ".join(f'"{b}"' for b in self.pipe.recv().split(","))
            return f'type = "kafka"\nbrokers = [{brokers}]\ntopic = "bench"\n'
        assert self.nats is not None
        self.nats.fresh_stream()
        self.cpu0 = self.nats.cpu()
        return f'type = "nats"\nurl = "{self.nats.url}"\nsubject = "bench.logs"\n'

    def after(self) -> tuple[int, float | None]:
        """(entries the destination holds, CPU seconds the receiver spent in the run)."""
        if self.kind == "file":
            with (self.work / "out.jsonl").open("rb") as f:
                return sum(1 for _ in f), None
        if self.kind in ("http", "es", "otlp"):
            self.pipe.send("stats")
            _, entries, cpu = self.pipe.recv()
            return entries, cpu - self.cpu0
        if self.kind == "kafka":
            self.pipe.send("count")
            entries, cpu = self.pipe.recv()
            self.proc.join(30)
            self.proc = None
            return entries, cpu
        assert self.nats is not None
        cpu = self.nats.cpu() - self.cpu0
        return self.nats.count(), cpu

    def close(self) -> None:
        if self.proc is not None and self.kind != "kafka":
            self.pipe.send("stop")
            self.proc.join(10)
        if self.nats is not None:
            self.nats.close()


def run_sink(kind: str, args: argparse.Namespace, work: Path, log: Path, expected: int
             ) -> tuple[float, float, float | None]:
    target = Target(kind, work, args.receiver == "split")
    runs = []
    try:
        for _ in range(args.repeat):
            shutil.rmtree(work / "state", ignore_errors=True)
            sink = target.before()
            opts = args.sink_option if kind != "file" else []
            cfg = config(work, log, sink, opts, args.workers)
            wall, cpu = timed([*args.logproc_cmd.split(), "run", "--once", "-c", str(cfg)], work)
            got, peer = target.after()
            if got != expected:
                tail = (work / "logproc.err").read_text(errors="replace")[-3000:]
                raise SystemExit(f"{kind}: the destination holds {got} entries, expected {expected}\n{tail}")
            print(f"  {LABELS[kind]:20} {wall:7.2f} s wall {cpu:7.2f} s CPU"
                  + (f" (receiver {peer:.2f} s)" if peer is not None else ""), file=sys.stderr)
            runs.append((wall, cpu, peer))
    finally:
        target.close()
    return min(runs, key=lambda r: r[0])


# -- encoding cost (in process) ------------------------------------------------------------
# what each sink's TOML names when nothing is sent (config loading only)
DUMMY: dict[str, Callable[[Path], str]] = {
    "file": lambda work: f'type = "file"\npath = "{work}/out.jsonl"\nformat = "json"\n',
    "http": lambda _: 'type = "http"\nurl = "http://127.0.0.1:9/ingest"\nencoding = "ndjson"\n',
    "es": lambda _: 'type = "http"\nurl = "http://127.0.0.1:9/_bulk"\nencoding = "elasticsearch"\n',
    "otlp": lambda _: 'type = "otlp"\nendpoint = "http://127.0.0.1:9/v1/logs"\nprotocol = "http/protobuf"\n',
    "kafka": lambda _: 'type = "kafka"\nbrokers = ["127.0.0.1:9"]\ntopic = "bench"\n',
    "nats": lambda _: 'type = "nats"\nurl = "nats://127.0.0.1:9"\nsubject = "bench.logs"\n',
}


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def encoding_costs(kinds: list[str], work: Path, log: Path, lines: int, repeat: int) -> None:
    """Per entry kept, best of `repeat`: the consumers' half (the sink kind's formatter,
    `KINDS[kind].formatter(cfg)` as a route runs it) and the sink thread's half before the
    client library (http: cutting requests and the body; kafka and nats: reading frames
    back), on the first `lines` lines parsed by J2's source pipeline in steps of 128, the
    sink's deliveries being what one read of the source gives (`READ` bytes of lines)."""
    sys.path.insert(0, str(ROOT))
    from logproc.config.loader import load_text
    from logproc.pipeline.ids import offset_ids, route_spec
    from logproc.pipeline.stages import STEP
    from logproc.transforms import build_source_pipeline

    with log.open("rb") as f:
        raw = [next(f) for _ in range(lines)]
    offsets = [0]
    for line in raw[:-1]:
        offsets.append(offsets[-1] + len(line))
    raw = [line.rstrip(b"\n") for line in raw]
    print(f"encoding, {lines:,} lines in steps of {STEP}, best of {repeat}: microseconds per entry kept")
    print(f"{'sink':22}{'consumers':>11}{'sink thread':>13}{'total':>8}{'x file':>8}")
    ref = None
    for kind in kinds:
        loaded = load_text(config(work, log, DUMMY[kind](work), [], None).read_text(), work / "logproc.toml")
        src, cfg = loaded.config.sources["bench"], loaded.config.sinks["out"]
        pipeline = build_source_pipeline("bench", src, "bench")
        filt, fmt, _raw_only, uses_ids = route_spec(cfg)
        steps = []
        for i in range(0, lines, STEP):
            chunk = raw[i:i + STEP]
            entries, _ = pipeline(chunk, None, str(log), 1.7e9)
            kept, _, _ = filt(entries)
            ids = offset_ids(chunk, offsets[i:i + STEP], "0123456789abcdef") if uses_ids else None
            steps.append(([entries[k] for k in kept], [chunk[k] for k in kept],
                          None if ids is None else [ids[k] for k in kept]))
        n = sum(len(e) for e, _, _ in steps)
        run = partial(format_steps, fmt, steps, uses_ids)
        payloads = run()
        consumers = best_time(run, repeat) / n
        # the sink gets one delivery per batch the source read (READ bytes of lines)
        per_read = max(1, READ // (sum(map(len, raw)) // len(raw) + 1) // STEP)
        batches = [b"".join(payloads[k:k + per_read]) for k in range(0, len(payloads), per_read)]
        sink_half = sink_thread_half(kind, cfg, batches, repeat) / n
        total = consumers + sink_half
        ref = ref or (total if kind == "file" else None)
        print(f"{LABELS[kind]:22}{consumers * 1e6:11.2f}{sink_half * 1e6:13.2f}{total * 1e6:8.2f}"
              f"{f'{total / ref:.2f}' if ref else '':>8}")


def format_steps(fmt: Any, steps: list[Any], uses_ids: bool) -> list[bytes]:
    if uses_ids:
        return [fmt(e, r, ids) for e, r, ids in steps]
    return [fmt(e, r) for e, r, _ in steps]


def sink_thread_half(kind: str, cfg: Any, payloads: list[bytes], repeat: int) -> float:
    """Seconds the sink thread spends on `payloads` before handing bytes to its client."""
    from logproc.sinks.base import Delivery, noop

    if kind == "file":
        return 0.0
    if kind in ("http", "es", "otlp"):
        from logproc.sinks.http.batching import plan
        if kind == "otlp":
            from logproc.sinks.otlp.parts import build_encoding
        else:
            from logproc.sinks.http.encoders import build_encoding
        body = build_encoding(cfg).body
        deliveries = [Delivery("bench", p, p.count(b"\n"), noop) for p in payloads]
        return best_time(lambda: [body(r.chunks) for r in plan(deliveries, cfg.batch_max_entries,
                                                                 cfg.batch_max_bytes)], repeat)
    if kind == "kafka":
        from logproc.sinks.kafka.framing import records
        return best_time(lambda: [sum(1 for _ in records(p, cfg.topic, False)) for p in payloads], repeat)
    from logproc.sinks.nats.framing import split
    return best_time(lambda: [sum(1 for _ in split(p)) for p in payloads], repeat)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sinks", default=",".join(SINKS), help=f"a comma-separated subset of {','.join(SINKS)}")
    p.add_argument("--logproc-cmd", default=str(ROOT / ".venv" / "bin" / "logproc"))
    p.add_argument("--receiver", choices=("fast", "split"), default="fast",
                   help="split: the HTTP answer in two writes without TCP_NODELAY (http.server's way)")
    p.add_argument("--workers", type=int, default=None, help="[daemon] workers (default: logproc's)")
    p.add_argument("--sink-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a TOML line added to every sink's table but the file sink's (repeatable)")
    p.add_argument("--encoding", type=int, metavar="LINES", default=0,
                   help="instead of running logproc: each sink's encoding cost per entry, in "
                   "this process, on the first LINES lines")
    args = p.parse_args()
    kinds = [k.strip() for k in args.sinks.split(",") if k.strip()]
    unknown = set(kinds) - set(SINKS)
    if unknown:
        p.error(f"unknown sinks {sorted(unknown)}: choose from {','.join(SINKS)}")
    with tempfile.TemporaryDirectory(prefix="logproc-sinks-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        log = work / "logs" / "app.log"
        expected = write_input(log, args.lines)
        if args.encoding:
            encoding_costs(kinds, work, log, min(args.encoding, args.lines), max(args.repeat, 5))
            return 0
        results = {}
        for kind in kinds:
            results[kind] = run_sink(kind, args, work, log, expected)
    print(f"{args.lines:,} lines of J2's input ({expected:,} written after the debug filter), "
          f"best of {args.repeat} ({os.cpu_count()} CPUs)"
          + (f", receiver {args.receiver}" if args.receiver != "fast" else "")
          + "".join(f", {o}" for o in args.sink_option))
    ref = results.get("file")
    print(f"{'sink':22}{'wall s':>8}{'CPU s':>8}{'lines/s':>10}{'x file':>8}{'CPU x file':>12}"
          f"{'receiver CPU s':>16}")
    for kind, (wall, cpu, peer) in results.items():
        ratio = f"{wall / ref[0]:8.2f}{cpu / ref[1]:12.2f}" if ref else f"{'':8}{'':12}"
        print(f"{LABELS[kind]:22}{wall:8.2f}{cpu:8.2f}{args.lines / wall:10,.0f}{ratio}"
              f"{'' if peer is None else f'{peer:.2f}':>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
