"""Worker processes (`[daemon] workers`): same bytes, each file in order, nothing lost when one dies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import orjson
import pytest

from logproc.pipeline.ids import route_spec
from logproc.pipeline.offload import pool as procpool
from logproc.pipeline.stages import build_batch_fn
from logproc.sinks.formats import build_formatter
from logproc.testing import Daemon, LogWriter, check_sequence, numbered, run_once, wait_for
from logproc.transforms import build_source_pipeline
from logproc.transforms.filter import build_filter

pytestmark = pytest.mark.e2e

FILES = 4
PER_FILE = 20_000


def _config(write_config, workers: int, extra: str = "") -> Path:
    return write_config(
        f"""
        [daemon]
        state_dir = "{{work}}/state"
        metrics_address = ""
        watch_config = false
        checkpoint_interval = 0.2
        workers = {workers}

        [sources.app]
        paths = ["{{work}}/logs/*.log"]
        parser = "logfmt"

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.jsonl"
        format = "json"
        {extra}
        """
    )


def _per_file(out: Path) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = {}
    for line in out.read_bytes().splitlines():
        entry = orjson.loads(line)
        seqs.setdefault(entry["file"], []).append(int(entry["seq"]))
    return seqs


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            continue
    return kids


def test_every_line_once_and_in_order_per_file(work: Path, write_config) -> None:
    for i in range(FILES):
        (work / "logs" / f"f{i}.log").write_bytes(numbered(i * PER_FILE, PER_FILE, tag=f"file={i}"))
    config = _config(write_config, workers=2)
    done = run_once(config, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert "workers" in done.stderr.decode()
    out = work / "out" / "all.jsonl"
    check_sequence(out.read_bytes(), FILES * PER_FILE)
    seqs = _per_file(out)
    assert len(seqs) == FILES
    for path, got in seqs.items():
        i = int(Path(path).stem[1:])
        assert got == list(range(i * PER_FILE, (i + 1) * PER_FILE)), path


def test_same_output_as_consumer_threads(work: Path, write_config) -> None:
    """workers = 2 and workers = 0 write the same bytes (filter and parse errors included)."""
    lines = bytearray()
    for n in range(3000):
        lines += b'level=%s seq=%d msg="hello %d"\n' % (b"debug" if n % 3 == 0 else b"info", n, n)
        if n % 500 == 0:
            lines += b'broken "quote\n'
    (work / "logs" / "a.log").write_bytes(bytes(lines))
    outputs = []
    for workers in (0, 2):
        config = _config(write_config, workers, extra='exclude = { level = "^debug$" }')
        out = work / "out" / "all.jsonl"
        out.unlink(missing_ok=True)
        for f in (work / "state").iterdir():
            f.unlink()
        done = run_once(config, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(out.read_bytes())
    # the read time stands in for missing timestamps; compare everything else
    def strip(data: bytes) -> list[dict[str, object]]:
        return [{k: v for k, v in orjson.loads(x).items() if k != "timestamp"} for x in data.splitlines()]

    assert strip(outputs[0]) == strip(outputs[1])
    assert len(outputs[1].splitlines()) == 2000 + 6


def test_killed_worker_loses_nothing(work: Path, write_config) -> None:
    config = _config(write_config, workers=2)
    writers = [LogWriter(work / "logs" / f"f{i}.log") for i in range(FILES)]
    out = work / "out" / "all.jsonl"
    total = 0

    def delivered() -> int:
        return out.read_bytes().count(b"\n") if out.exists() else 0

    def write_round(count: int) -> None:
        nonlocal total
        for i, w in enumerate(writers):
            w.write(numbered(total + i * count, count, tag=f"file={i}"))
        total += FILES * count

    with Daemon(config) as d:
        d.wait_started()
        workers = wait_for(lambda: _children(d.pid), timeout=10, what="worker processes")
        assert len(workers) == 2
        write_round(5000)
        wait_for(lambda: delivered() >= 1000, timeout=30, what="some delivery")
        os.kill(workers[0], signal.SIGKILL)
        write_round(5000)
        wait_for(lambda: workers[0] not in _children(d.pid) and len(_children(d.pid)) == 2, timeout=30,
                 what="a replacement worker")
        write_round(5000)
        wait_for(lambda: delivered() >= total, timeout=60, what="every line delivered")
        assert d.stop() == 0
        log = d.log()
    for w in writers:
        w.close()
    check_sequence(out.read_bytes(), total)
    assert "worker process died" in log


# -- the pool itself, without the daemon ----------------------------------------------------
class _Sink:
    def __init__(self, **kw: object) -> None:
        self.type = "file"
        self.format = "json"
        self.template = None
        self.min_level = None
        self.include: dict[str, str] = {}
        self.exclude: dict[str, str] = {}
        self.__dict__.update(kw)


class _Source:
    parser = "logfmt"
    pattern = None
    timezone = "UTC"
    rename: dict[str, str] = {}
    drop_fields: list[str] = []
    fields = {"env": "test"}
    redact: list[str] = []


def _spec(sinks: list[_Sink]) -> dict[str, object]:
    return {"host": "h", "sources": [{
        "name": "app", "parse": True, "parser": _Source.parser,
        "source": {k: getattr(_Source, k) for k in vars(_Source) if not k.startswith("_")},
        "sinks": [dict(vars(s)) for s in sinks],
    }]}


def test_pool_matches_the_batch_function_whatever_the_cut() -> None:
    sinks = [_Sink(), _Sink(format="raw", min_level="info"), _Sink(format="logfmt", exclude={"seq": "7$"})]
    local = build_batch_fn(build_source_pipeline("app", _Source(), "h"),  # type: ignore[arg-type]
                           [(build_filter(s), build_formatter(s), s.format == "raw", False) for s in sinks])  # type: ignore[arg-type]
    pool = procpool.WorkerPool(2, _spec(sinks))
    pool.start()
    try:
        for n in (1, 100, 511, 512, 2000):
            lines = [b"level=%s seq=%d" % (b"debug" if i % 4 == 0 else b"warn", i) for i in range(n)]
            lines[n // 2] += b"\ncontinued"  # a joined multiline entry: sent with lengths
            parts = [i % 3 for i in range(n)]
            assert pool.run("app", lines, parts, "/x/a.log", 1.7e9) == local(lines, parts, "/x/a.log", 1.7e9)
        # a dead worker is replaced and the batch sent again
        victim = pool.workers[0].pid
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        lines = [b"seq=%d" % i for i in range(1000)]
        assert pool.run("app", lines, None, "/x/a.log", 1.7e9) == local(lines, None, "/x/a.log", 1.7e9)
        assert pool.restarts == 1
    finally:
        pool.close()
    assert pool.pids() == []


def test_pool_gives_the_same_ids_whatever_the_cut() -> None:
    """The entries' ids (offsets and ident sent with each piece) are those of the batch
    function in the consumer: an `id_field` sink and an elasticsearch sink (its `_id`s)."""
    es = _Sink(type="http", url="http://127.0.0.1:9/_bulk", encoding="elasticsearch", index="logs",
               action="create", labels=None, headers={}, gzip=False)
    sinks = [_Sink(id_field="id"), _Sink(format="logfmt", exclude={"seq": "7$"}, id_field="log_id"), es]
    spec = _spec(sinks)
    spec["sources"][0]["ids"] = "offset"  # type: ignore[index]
    local = build_batch_fn(build_source_pipeline("app", _Source(), "h"),  # type: ignore[arg-type]
                           [route_spec(s) for s in sinks], ids="offset")
    pool = procpool.WorkerPool(2, spec)
    pool.start()
    try:
        for n in (1, 511, 2000):
            lines = [b"level=warn seq=%d" % i for i in range(n)]
            offsets = [i * 19 + 3 for i in range(n)]
            got = pool.run("app", lines, None, "/x/a.log", 1.7e9, offsets, "0123456789abcdef")
            assert got == local(lines, None, "/x/a.log", 1.7e9, offsets, "0123456789abcdef")
            first = orjson.loads(got[1][0][3].splitlines()[-1])
            assert first["id"] == f"0123456789abcdef-{offsets[-1]:x}"
            assert b'"_id":"0123456789abcdef-3"' in got[1][2][3]
    finally:
        pool.close()
