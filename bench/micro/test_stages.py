"""One benchmark per stage: line splitting, each parser, each format, the batch function,
queue hand-off, checkpoint commit and a worker-process round trip (see conftest.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.pipeline.offload import pool as procpool
from logproc.pipeline.stages import build_batch_fn
from logproc.pipeline.queue import BatchQueue
from logproc.sinks.formats import build_formatter
from logproc.sources.file.lines import LineSplitter
from logproc.transforms import build_parser, build_source_pipeline
from logproc.transforms.filter import build_filter

SOURCE = {"parser": "plain", "pattern": None, "timezone": "UTC", "rename": {}, "drop_fields": [],
          "fields": {}, "redact": []}
SINK = {"format": "json", "template": None, "min_level": None, "include": {}, "exclude": {}}


def _source(**kw: Any) -> Any:
    return SimpleNamespace(**{**SOURCE, **kw})


def _sink(**kw: Any) -> Any:
    return SimpleNamespace(**{**SINK, **kw})


def test_split_lines(benchmark, json_lines) -> None:
    chunk = b"\n".join(json_lines) + b"\n"
    splitter = LineSplitter(1 << 20)
    assert len(benchmark(splitter.feed, chunk).lines) == len(json_lines)


PARSER_CASES = {
    "plain": ("json_lines", {}),
    "json": ("json_lines", {}),
    "logfmt": ("logfmt_lines", {}),
    "regex": ("logfmt_lines", {"pattern": r"level=(?P<level>\w+) msg=\"(?P<message>[^\"]*)\""}),
    "combined": ("nginx_lines", {}),
    "common": ("nginx_lines", {}),
}


@pytest.mark.parametrize("parser", sorted(PARSER_CASES))
def test_parser(benchmark, request, parser: str) -> None:
    corpus, extra = PARSER_CASES[parser]
    lines = request.getfixturevalue(corpus)
    parse = build_parser("app", _source(parser=parser, **extra), "host")
    entries, bad = benchmark(parse, lines, "/var/log/app.log", 1.7e9)
    assert len(entries) == len(lines) and bad == 0


@pytest.mark.parametrize("fmt", ["json", "logfmt", "text", "raw"])
def test_format(benchmark, json_lines, fmt: str) -> None:
    entries, _ = build_parser("app", _source(parser="json"), "host")(json_lines, "/x", 1.7e9)
    formatter = build_formatter(_sink(format=fmt))
    out = benchmark(formatter, entries, json_lines)
    assert out.count(b"\n") == len(json_lines)


@pytest.mark.parametrize("job", ["J2", "J3"])
def test_batch_function(benchmark, json_lines, nginx_lines, job: str) -> None:
    """Parse, filter and format as a consumer does (shared/bench's J2 and J3 configs)."""
    if job == "J2":
        src, lines = _source(parser="json", fields={"host": "bench"}), json_lines
        sink = _sink(exclude={"level": "^debug$"})
    else:
        src, sink, lines = _source(parser="combined"), _sink(), nginx_lines
    pipeline = build_source_pipeline("app", src, "host")
    run = build_batch_fn(pipeline, [(build_filter(sink), build_formatter(sink), False)])
    errors, results = benchmark(run, lines, None, "/x", 1.7e9)
    assert errors == 0 and results[0][0] > 0


def test_worker_round_trip(benchmark, nginx_lines) -> None:
    """J3's batch through two worker processes: pipes, split, merge (compare with J3 above)."""
    spec = {"host": "host", "sources": [{"name": "app", "parse": True,
                                         "source": {**SOURCE, "parser": "combined"}, "sinks": [SINK]}]}
    pool = procpool.WorkerPool(2, spec)
    pool.start()
    try:
        errors, results = benchmark(pool.run, "app", nginx_lines, None, "/x", 1.7e9)
    finally:
        pool.close()
    assert errors == 0 and results[0][0] == len(nginx_lines)


def test_queue_hand_off(benchmark, json_lines) -> None:
    """put, get and release of one batch (the per-batch cost of the queue)."""
    queue = BatchQueue(10_000)
    batch = Batch("app", "app/0", "/x", json_lines, 0, 1, 0.0)

    def hand_off() -> None:
        queue.put(batch)
        got = queue.get(0)
        assert got is batch
        queue.release(got)

    benchmark(hand_off)


@pytest.mark.parametrize("files", [1, 1000])
@pytest.mark.parametrize("durable", [False, True], ids=["light", "durable"])
def test_checkpoint_commit(benchmark, tmp_path: Path, files: int, durable: bool) -> None:
    store = CheckpointStore(tmp_path)
    store.load()
    records = [FileCheckpoint(1, i, 3, "abc", 0, f"/var/log/app{i}.log", "app") for i in range(files)]
    for rec in records:
        store.put(rec)
    offset = 0

    def commit() -> None:
        nonlocal offset
        offset += 100
        store.advance(records[0], offset, "t")
        store.commit(durable=durable)

    benchmark(commit)
