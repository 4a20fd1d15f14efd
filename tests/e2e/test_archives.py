"""Compressed files are files: backfills over archives, archives cut short or corrupt."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import time
from pathlib import Path

import orjson
import pytest

from logproc.sources.file.compressed import zstd
from logproc.testing import Daemon, LogWriter, check_sequence, numbered, run_once, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

COMPRESS = {".gz": gzip.compress, ".zst": zstd.compress, ".xz": lzma.compress, ".bz2": bz2.compress}
HOUR_AGO = time.time() - 3600


def _config(write_config, glob: str = "{work}/logs/*", sink: str = "raw") -> Path:
    return write_config(
        f"""
        [sources.app]
        paths = ["{glob}"]

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.log"
        format = "{sink}"
        """
    )


def _events(stderr: bytes) -> list[dict]:
    return [orjson.loads(line) for line in stderr.splitlines()]


def test_once_reads_every_archive_exactly_once_and_a_second_run_nothing(work, write_config):
    """Ten archives in the four formats (names that say so, and two that do not) beside two
    live files: one `--once` delivers every line once; a second one delivers nothing and
    decodes nothing (the archives' checkpoints say they were read to the end)."""
    logs = work / "logs"
    expected: list[int] = []
    names = [f"app.log.{i}{suffix}" for i, suffix in enumerate([".gz", ".zst", ".xz", ".bz2"] * 2, 1)]
    names += ["old-gzip", "old-xz.log"]
    makers = [*COMPRESS.values()] * 2 + [gzip.compress, lzma.compress]
    for i, (name, make) in enumerate(zip(names, makers, strict=True)):
        (logs / name).write_bytes(make(numbered(i * 10_000, 5000, tag=name)))
        os.utime(logs / name, (HOUR_AGO, HOUR_AGO))
        expected += range(i * 10_000, i * 10_000 + 5000)
    LogWriter(logs / "app.log").write(numbered(500_000, 3000))
    LogWriter(logs / "other.log").write(numbered(600_000, 3000))
    expected += [*range(500_000, 503_000), *range(600_000, 603_000)]
    config = _config(write_config)
    first = run_once(config)
    assert first.returncode == 0, first.stderr.decode()
    out = work / "out" / "all.log"
    check_sequence(out.read_bytes(), expected)
    watched = [e for e in _events(first.stderr) if e["event"] == "watching compressed file"]
    assert sorted((os.path.basename(e["path"]), e["format"]) for e in watched) == sorted(
        [(n, f) for n, f in zip(names, ["gzip", "zstd", "xz", "bzip2"] * 2 + ["gzip", "xz"], strict=True)])
    size = out.stat().st_size
    second = run_once(config)
    assert second.returncode == 0
    assert out.stat().st_size == size
    assert not [e for e in _events(second.stderr) if e["event"] == "watching compressed file"]


def test_cut_short_and_garbage_archives_deliver_what_decodes_and_count_the_rest(work, write_config):
    """A `.gz` cut at two thirds delivers the lines that decode, then counts the rest as lost
    (`corrupt`, with a warning naming it); a file of garbage behind a gzip magic is reported
    the same way; the plain file beside them flows, in the daemon as in a backfill."""
    logs = work / "logs"
    whole = gzip.compress(numbered(0, 20_000, tag="cut"))
    (logs / "cut.log.1.gz").write_bytes(whole[: len(whole) * 2 // 3])
    (logs / "garbage.gz").write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    for name in ("cut.log.1.gz", "garbage.gz"):
        os.utime(logs / name, (HOUR_AGO, HOUR_AGO))
    plain = LogWriter(logs / "app.log")
    plain.write(numbered(100_000, 1000))
    config = _config(write_config)
    out = work / "out" / "all.log"
    with Daemon(config) as d:
        d.wait_started()
        wait_for(lambda: out.exists() and out.read_bytes().count(b"seq=100999 ") == 1, 20, what="the plain file")
        wait_for(lambda: d.log().count("archive cut short or corrupt") == 2, 20, what="both reported")
        plain.write(numbered(101_000, 1000))
        wait_for(lambda: out.read_bytes().count(b"seq=101999 ") == 1, 20, what="the plain file still flowing")
        assert d.stop() == 0
        events = _events(d.log().encode())
    data = out.read_bytes()
    cut = [int(line.split(b" ")[0][4:]) for line in data.splitlines() if b" cut " in line]
    assert cut == list(range(len(cut))) and 1000 < len(cut) < 20_000  # a prefix, in order, once
    assert b"\x00" not in data  # no garbage delivered
    check_sequence(b"\n".join(line for line in data.splitlines() if b" cut " not in line),
                   range(100_000, 102_000))
    broken = {os.path.basename(e["path"]): e for e in events if e["event"].startswith("archive cut short")}
    assert broken.keys() == {"cut.log.1.gz", "garbage.gz"}
    assert broken["cut.log.1.gz"]["error"].startswith("the archive ends early")
    assert broken["garbage.gz"]["error"].startswith("the archive does not decode")
    # neither was seen whole before: how much is lost cannot be known, the archives are counted
    assert {e["lost"] for e in broken.values()} == {"unknown"}
    stats = next(e for e in events if e["event"] == "source stats")
    assert stats["broken_archives"] == 2
    assert stats["bytes_lost_corrupt"] == 0
