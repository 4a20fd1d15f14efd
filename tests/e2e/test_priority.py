"""`priority` at the default settings: a source with a higher priority goes first when the
consumers are behind.

Black box, as a new user would try it: two sources of 200,000 JSON lines each, one with
`priority = 10`, one with 0, one consumer thread, the default queue, `run --once`. Before
batch size was tied to the queue's bound, one 1 MiB read (~10,000 lines) filled the default
queue on its own, there was nothing to choose between, and the output interleaved about
50/50 with the high-priority source finishing last.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from logproc.testing import run_once

LINES = 200_000


def _write(path: Path, tag: str) -> None:
    with path.open("wb") as f:
        for i in range(LINES):
            f.write(b'{"level":"info","message":"%s %06d","n":%d}\n' % (tag.encode(), i, i))


@pytest.mark.parametrize("first", ["high", "low"])
def test_high_priority_source_finishes_first(tmp_path: Path, first: str) -> None:
    _write(tmp_path / "high.log", "high")
    _write(tmp_path / "low.log", "low")
    out = tmp_path / "out.jsonl"
    conf = tmp_path / "logproc.toml"
    sources = {
        "high": f'[sources.high]\npaths = ["{tmp_path}/high.log"]\nparser = "json"\npriority = 10\n\n',
        "low": f'[sources.low]\npaths = ["{tmp_path}/low.log"]\nparser = "json"\npriority = 0\n\n',
    }
    conf.write_text(
        f'[daemon]\nstate_dir = "{tmp_path}/state"\nmetrics_address = ""\nwatch_config = false\n'
        f'consumers = 1\n\n'
        + sources[first] + sources["low" if first == "high" else "high"]
        + f'[sinks.out]\ntype = "file"\npath = "{out}"\nformat = "json"\n')
    proc = run_once(conf, timeout=120)
    assert proc.returncode == 0, proc.stderr

    order = [orjson.loads(line)["source"] for line in out.read_bytes().splitlines()]
    assert order.count("high") == LINES and order.count("low") == LINES
    last_high = len(order) - 1 - order[::-1].index("high")
    last_low = len(order) - 1 - order[::-1].index("low")
    assert last_high < last_low, "the high-priority source finished last"
    # The low source only gets what the high one leaves: while both read, the consumer
    # takes high batches. Low lines before the last high line: at most a quarter of them
    # (a batch the low source queued before the high one filled the queue, and what its
    # batches slipped in while the high source was reading rather than waiting).
    low_before = order[:last_high].count("low")
    assert low_before < LINES // 4, f"{low_before} low-priority lines came before the last high one"
