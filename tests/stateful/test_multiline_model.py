"""Model-based test of multiline entries over `--once` runs and restarts.

Hypothesis writes a file of random multiline entries and reads it in runs, each run a
restart from the checkpoint the one before left, and checks what was delivered against a
model of what was written:

- what is written: entries (a line matching `^S`, then continuation lines) and lines
  before the first one, with lengths at and around `max_line_bytes` (so entries are cut
  into pieces), multi-byte characters, NULs inside lines and at their start, `\\r` inside
  lines, `\\n` or `\\r\\n` endings, blank lines between and inside entries; a write may end
  inside a line or between `\\r` and `\\n`, and the next one finishes it;
- a run reads the file the way `--once` does, in process: a `Tailer` with its
  `MultilineSplitter` reads from the checkpoint in chunks of a random size, more is
  written between reads (a writer still at work), the held entry is handed out now and
  then as the quiet timeout does (`flush_entry`), and the run ends with `flush_partial`;
  or it stops without that (a graceful stop: what is held is read again after the restart);
- every batch is acknowledged at once: the checkpoint follows it;
- the model is exact: each stretch between two points where the stream is cut (the end of
  a run, a stop, a `flush_entry`) holds the entries `expected_entries` finds in its bytes,
  a plain line-by-line reading; what was delivered, pieces joined, is those entries in that
  order, each once; every piece and entry is at most `max_line_bytes` bytes; the pieces of a
  stretch are those of its bytes fed in one chunk (they do not depend on the reads); every
  batch starts where the one before ended; after a `--once` run the checkpoint is the size
  of the file.

The splitter's documented limits are left out of what is written: a run of blank lines
longer than the limit, or a partial line of more NULs than the limit, end the entry being
built where a whole read would not (memory stays bounded). A smaller run drives the real
command (`logproc run --once`, json output) the same way, without the reads in between.

Environment: LOGPROC_MULTILINE_EXAMPLES (default 300), LOGPROC_MULTILINE_PROCESS_EXAMPLES
(5). LOGPROC_MODEL_SHRINK=1 shrinks a failure (slow).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.sources.base import SourceStats
from logproc.sources.file import fingerprint
from logproc.sources.file.multiline import MultilineSplitter
from logproc.sources.file.tailer import State, Tailer, open_file
from logproc.testing import run_once

EXAMPLES = int(os.environ.get("LOGPROC_MULTILINE_EXAMPLES", "300"))
PROCESS_EXAMPLES = int(os.environ.get("LOGPROC_MULTILINE_PROCESS_EXAMPLES", "5"))
START = r"^S"
STARTS = re.compile(rb"S")
MULTILINE = SimpleNamespace(start=START, timeout=1.0)
# pieces of line text: ASCII, 2-, 3- and 4-byte characters, a tab, a `\r` and a NUL inside
TOKENS = ["a", "b", " ", "S", "é", "€", "😀", "\t", "\r", "x\0y"]


# -- the model's reading of the entry rules ------------------------------------------------
def expected_entries(data: bytes, final: bool = True) -> list[bytes]:
    """The entries of `data` read as a whole: lines without `\\n`, one trailing `\\r` and
    NULs at their start; a line matching `^S` starts an entry, others continue it; blank
    lines between entries and at an entry's end are left out. `final`: the end of a run,
    where an unterminated last line is a line; else the stream stops where a piece ended,
    and the entry it cut ends with what there is of its last line."""
    if final and data.endswith(b"\n"):
        data = data[:-1]
    if not data and final:
        return []
    lines = data.split(b"\n")
    entries: list[list[bytes]] = []
    current: list[bytes] | None = None
    for i, raw in enumerate(lines):
        complete = final or i < len(lines) - 1
        line = (raw[:-1] if complete and raw.endswith(b"\r") else raw).lstrip(b"\0")
        if current is not None and STARTS.match(line):
            current = None
        if current is None:
            if not line:
                continue
            current = []
            entries.append(current)
        current.append(line)
    for n, entry in enumerate(entries):
        if final or n < len(entries) - 1:
            while len(entry) > 1 and not entry[-1]:
                entry.pop()
    return [b"\n".join(e) for e in entries]


def whole(units: list[tuple[bytes, int]]) -> list[bytes]:
    """Delivered units (text, part) with their pieces joined: the entries they make."""
    out: list[bytes] = []
    previous = 0
    for text, part in units:
        assert part in (0, 1, previous + 1), f"piece {part} after piece {previous}: {units}"
        if part > 1:
            out[-1] += text
        else:
            out.append(text)
        previous = part
    return out


def in_one_chunk(data: bytes, limit: int) -> list[tuple[bytes, int]]:
    """The units of `data` fed to a splitter at once, then flushed."""
    s = MultilineSplitter(START, limit)
    units: list[tuple[bytes, int]] = []
    for split in (s.feed(data), s.flush()):
        units += zip(split.lines, split.parts or [0] * len(split.lines), strict=True)
    return units


# -- what is written -----------------------------------------------------------------------
@st.composite
def lines_of(draw: st.DrawFn, limit: int) -> list[tuple[bytes, bytes]]:
    """(text, ending) lines: lines before the first entry, entries, blank lines."""
    def text(prefix: str) -> bytes:
        size = draw(st.sampled_from([0, 1, 2, limit - 3, limit - 1, limit, limit + 1, limit + 2,
                                     2 * limit, 3 * limit + 1, draw(st.integers(0, 3 * limit))]))
        tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=len(TOKENS), max_size=len(TOKENS)))
        body = "".join(tokens)
        while len(body.encode()) < size:
            body += body
        nuls = "\0" * draw(st.integers(0, 2) if draw(st.booleans()) else st.just(0))
        line = (nuls + prefix + body).encode()[:max(size, len(nuls) + len(prefix))]
        return line.decode("utf-8", "ignore").encode()  # whole characters

    crlf = draw(st.sampled_from([b"\n", b"\r\n", None]))  # None: mixed
    out: list[tuple[bytes, bytes]] = []
    blank_run = 0
    for kind in draw(st.lists(st.sampled_from(["start", "cont", "cont", "blank"]), max_size=14)):
        ending = crlf or draw(st.sampled_from([b"\n", b"\r\n"]))
        if kind == "blank":
            if blank_run == 2:  # longer runs (a restart adds some) could pass the limit: they
                continue  # end the entry being built (a documented limit)
            blank_run += 1
            out.append((draw(st.sampled_from([b"", b"\0", b"\0\0"])), ending))
            continue
        # a continuation line starts with anything but `S` (after its NULs), and is not blank
        out.append((text("S" if kind == "start" else draw(st.sampled_from([" ", "\t", "a", "é"]))), ending))
        blank_run = 0
    return out


def written(lines: list[tuple[bytes, bytes]], cut: int) -> bytes:
    """The bytes of `lines` but the last `cut`: a write may stop inside a line or its ending."""
    data = b"".join(t + e for t, e in lines)
    return data[:len(data) - cut] if cut <= len(data) else data


@dataclass
class Run:
    """One run: what is written before it and between its reads, and how it ends."""

    writes: list[bytes]  # the first before the run, one more after each `reads_between`
    chunk: int
    reads_between: list[int]
    flush_after: set[int]  # read numbers after which the held entry is handed out (timeout)
    stop: bool  # a graceful stop (nothing flushed) instead of the end of a `--once` run


@st.composite
def scenarios(draw: st.DrawFn, min_limit: int = 24, max_limit: int = 48) -> tuple[int, list[Run]]:
    limit = draw(st.integers(min_limit, max_limit))
    runs = []
    n_runs = draw(st.integers(1, 4))
    for i in range(n_runs):
        lines = draw(lines_of(limit))
        data = written(lines, draw(st.sampled_from([0, 0, 1, 2, 3, 5])))  # maybe no final newline
        if draw(st.booleans()):  # what the last write left unfinished: its newline, or more
            data = draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"more\n", b""])) + data
        points = sorted(draw(st.lists(st.integers(0, len(data)), max_size=3)))
        writes = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
        runs.append(Run(
            writes=writes,
            chunk=draw(st.sampled_from([1, 2, 3, 7, limit - 1, limit, limit + 1, 2 * limit, 64, 4096])),
            reads_between=[draw(st.integers(0, 4)) for _ in writes[1:]],
            flush_after=set(draw(st.lists(st.integers(1, 12), max_size=3))),
            stop=i < n_runs - 1 and draw(st.booleans()),
        ))
    return limit, runs


# -- running it ----------------------------------------------------------------------------
@dataclass
class Stretch:
    """Bytes of the file between two cuts of the stream, and the units delivered for them."""

    start: int
    end: int = -1
    final: bool = True  # cut at a line end (run end, `flush_entry`), not inside a cut entry
    units: list[tuple[bytes, int]] = field(default_factory=list)


class Model:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dir = Path(tempfile.mkdtemp(prefix="logproc-multiline-"))
        self.path = self.dir / "app.log"
        self.path.write_bytes(b"")
        self.store = CheckpointStore(self.dir / "state")
        st_ = self.path.stat()
        self.record = FileCheckpoint(st_.st_dev, st_.st_ino, 0, "", 0, str(self.path), "app")
        self.stretches = [Stretch(0)]
        self.steps: list[str] = []

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def fail(self, message: str) -> AssertionError:
        data = self.path.read_bytes()
        return AssertionError(f"{message}\nlimit {self.limit}; steps:\n  " + "\n  ".join(self.steps)
                              + f"\nfile ({len(data)} bytes): {data!r}\ncheckpoint: {self.record.offset}")

    def write(self, data: bytes) -> None:
        if data:
            with open(self.path, "ab") as f:
                f.write(data)
            self.steps.append(f"write {data!r}")

    def take(self, batch: Batch | None) -> None:
        """A batch handed out: check it, deliver it, acknowledge it."""
        if batch is None:
            return
        if batch.start != self.record.offset:
            raise self.fail(f"batch [{batch.start}, {batch.end}) does not start at the checkpoint")
        parts = batch.parts or [0] * len(batch.lines)
        if len(parts) != len(batch.lines) or not all(batch.lines):
            raise self.fail(f"malformed batch: {batch.lines!r} {batch.parts!r}")
        for line in batch.lines:
            if len(line) > self.limit:
                raise self.fail(f"delivered {len(line)} bytes, past max_line_bytes: {line!r}")
        self.stretches[-1].units += zip(batch.lines, parts, strict=True)
        self.steps.append(f"  batch [{batch.start}, {batch.end}) {list(zip(batch.lines, parts, strict=True))!r}")
        self.store.advance(self.record, batch.end, batch.tail)
        with open(self.path, "rb") as f:
            if batch.tail != fingerprint.tail_hash(f.fileno(), batch.end):
                raise self.fail(f"batch [{batch.start}, {batch.end}): wrong tail hash")

    def cut(self, at: int, final: bool = True) -> None:
        self.stretches[-1].end = at
        self.stretches[-1].final = final
        self.stretches.append(Stretch(at))

    def run(self, r: Run) -> None:
        fd, st_ = open_file(str(self.path))
        t = Tailer("app", str(self.path), fd, st_, self.record, self.store, self.limit, 0, MULTILINE)
        stats = SourceStats()
        self.steps.append(f"run from {self.record.offset}: chunk {r.chunk}, flush_entry after reads"
                          f" {sorted(r.flush_after)}" + (", then stop" if r.stop else ""))
        reads = 0
        try:
            self.write(r.writes[0])
            for data, n in zip(r.writes[1:], r.reads_between, strict=True):
                for _ in range(n):
                    self.take(t.read(stats, r.chunk))
                    reads += 1
                    if reads in r.flush_after and t.splitter.holds_entry:
                        self.take(t.flush_entry(stats))
                        self.steps.append(f"  flush_entry: cut at {t.pos - t.splitter.pending}")
                        self.cut(t.pos - t.splitter.pending)
                self.write(data)
            if r.stop:  # a graceful stop: the held entry and partial line are read again later
                assert isinstance(t.splitter, MultilineSplitter)
                self.cut(self.record.offset, final=not t.splitter._part)
                self.steps.append(f"  stop at {self.record.offset}")
                return
            while True:  # `--once`: read to the end, then hand out the rest
                batch = t.read(stats, r.chunk)
                self.take(batch)
                if batch is None and t.state is not State.READING:
                    break
            self.take(t.flush_partial(stats))
            if t.replaced:
                raise self.fail("the checkpoint's tail hash did not match at the restart")
            size = self.path.stat().st_size
            if self.record.offset != size:
                raise self.fail(f"after a --once run the checkpoint is {self.record.offset}, the file"
                                f" {size} bytes")
            self.cut(size)
        finally:
            t.close()

    def check(self) -> None:
        data = self.path.read_bytes()
        for s in self.stretches[:-1]:
            raw = data[s.start:s.end]
            want = expected_entries(raw, s.final)
            got = whole(s.units)
            if got != want:
                raise self.fail(f"bytes [{s.start}, {s.end}) {raw!r}:\n  expected {want!r}\n"
                                f"  delivered {got!r} ({s.units!r})")
            if s.final and s.units != in_one_chunk(raw, self.limit):
                raise self.fail(f"bytes [{s.start}, {s.end}): pieces {s.units!r} depend on the reads;"
                                f" in one chunk: {in_one_chunk(raw, self.limit)!r}")


def _settings(examples: int) -> settings:
    # shrinking a failure can take minutes: opt in with LOGPROC_MODEL_SHRINK=1 when debugging
    phases = list(Phase) if os.environ.get("LOGPROC_MODEL_SHRINK") else [Phase.explicit, Phase.generate]
    return settings(max_examples=examples, deadline=None, database=None, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.timeout(600)
@settings(_settings(EXAMPLES))
@given(scenarios())
def test_multiline_runs_and_restarts_deliver_every_entry_once_whole(scenario: tuple[int, list[Run]]) -> None:
    """Every entry arrives once, whole or in pieces within the limit, and each run leaves the
    checkpoint at the file's end."""
    limit, runs = scenario
    model = Model(limit)
    try:
        for r in runs:
            model.run(r)
        model.check()
    finally:
        model.close()


def _once(model: Model, data: bytes, chunk: int = 4096) -> None:
    model.run(Run([data], chunk, [], set(), stop=False))


def test_a_line_past_the_limit_at_a_reads_end_loses_no_byte() -> None:
    """A partial line past the limit is cut into pieces with nothing left out or added."""
    model = Model(10)
    try:
        _once(model, b"S1\n" + b"x" * 51, chunk=20)
        _once(model, b"\nS2\n", chunk=20)
        model.check()
        units = [u for s in model.stretches for u in s.units]
        assert units == [(b"S1\nxxxxxxx", 1), (b"x" * 10, 2), (b"x" * 10, 3), (b"x" * 10, 4),
                         (b"x" * 10, 5), (b"x" * 4, 6), (b"S2", 0)]
        assert model.record.offset == len(b"S1\n" + b"x" * 51 + b"\nS2\n")
    finally:
        model.close()


def test_the_end_of_a_line_a_once_run_handed_out_moves_the_next_runs_checkpoint() -> None:
    """A run that finds only the end of a line handed out before still ends at the file's end."""
    model = Model(64)
    try:
        _once(model, b"S unfinished")
        for rest in (b"\n", b"\r", b"\n\0\0", b"\r\n"):
            _once(model, rest)  # checks that the checkpoint is the file's size
        model.check()
        assert [u for s in model.stretches for u in s.units] == [(b"S unfinished", 0)]
    finally:
        model.close()


# -- the real command ------------------------------------------------------------------------
CONFIG = """\
[daemon]
state_dir = "{dir}/state"
metrics_address = ""
watch_config = false

[sources.app]
paths = ["{dir}/logs/app.log"]
max_line_bytes = {limit}
multiline = {{ start = '{start}' }}

[sinks.out]
type = "file"
path = "{dir}/out/all.jsonl"
format = "json"
"""


@pytest.mark.e2e
@pytest.mark.timeout(600)
@settings(_settings(PROCESS_EXAMPLES))
@given(scenarios(min_limit=64, max_limit=96))
def test_multiline_once_runs_of_the_real_command(scenario: tuple[int, list[Run]]) -> None:
    """`logproc run --once` after each write: every entry once, the checkpoint at the end."""
    limit, runs = scenario
    work = Path(tempfile.mkdtemp(prefix="logproc-multiline-"))
    try:
        for sub, mode in (("logs", 0o777), ("out", 0o777), ("state", 0o700)):
            (work / sub).mkdir(mode=mode)
        os.chmod(work, 0o755)
        config = work / "logproc.toml"
        config.write_text(CONFIG.format(dir=work, limit=limit, start=START))
        log, out = work / "logs" / "app.log", work / "out" / "all.jsonl"
        log.write_bytes(b"")
        seen = 0
        for r in runs:
            before = log.stat().st_size
            with open(log, "ab") as f:
                f.write(b"".join(r.writes))
            done = run_once(config)
            assert done.returncode == 0, done.stderr.decode()
            raw = log.read_bytes()[before:]
            lines = out.read_bytes().splitlines() if out.exists() else []
            entries = [orjson.loads(line) for line in lines[seen:]]
            seen = len(lines)
            units = [(e["message"].encode(), e.get("line_part", 0)) for e in entries]
            # a write may stop inside a character: the message holds U+FFFD for its bytes
            want = [text.decode("utf-8", "replace").encode() for text in expected_entries(raw)]
            assert whole(units) == want, f"bytes {raw!r}: delivered {units!r}"
            assert units == [(text.decode("utf-8", "replace").encode(), part)
                             for text, part in in_one_chunk(raw, limit)]
            state = orjson.loads((work / "state" / "checkpoints.json").read_bytes())
            assert [rec["offset"] for rec in state["files"]] == [log.stat().st_size]
    finally:
        shutil.rmtree(work, ignore_errors=True)
