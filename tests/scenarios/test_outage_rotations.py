"""Nothing lost behind a stalled sink: the real logrotate rotates and compresses a file three
times while the HTTP sink refuses every connection for 30 s (reading held back, the queue
full), or while logproc is stopped; when the sink is back or logproc restarts, every line
arrives exactly once (after a SIGKILL: none missing). Compressed generations are read from
the descriptor still open, or from the archive, from the checkpoint's offset."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest

from logproc.testing import SEQ, Daemon, HttpTestServer, LogWriter, Reply, check_sequence, numbered, wait_for

from .support import logrotate

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

MODES = {
    "compress": "rotate 5\ncreate 0644\ncompress",
    "compress-delaycompress": "rotate 5\ncreate 0644\ncompress\ndelaycompress",
    "copytruncate-compress": "rotate 5\ncopytruncate\ncompress",
}
PER_GEN = 15_000  # numbered lines per generation, ~115 bytes each: several 1 MiB reads


def _config(work: Path, url: str) -> Path:
    path = work / "logproc.toml"
    path.write_text(
        f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n'
        "checkpoint_interval = 0.2\nqueue_size = 500\nconsumers = 1\nworkers = 0\nshutdown_timeout = 3\n\n"
        f'[sources.app]\npaths = ["{work}/logs/app.log"]\n\n'
        f'[sinks.http]\ntype = "http"\nurl = "{url}"\nencoding = "ndjson"\nformat = "raw"\n'
        "batch_max_entries = 2000\nbatch_timeout = 0.05\nretry_max_backoff = 1\n")
    return path


def _delivered(server: HttpTestServer) -> bytes:
    return b"".join(server.bodies())


def _rotate_three_times(work: Path, mode: str, writer: LogWriter) -> tuple[LogWriter, int]:
    """Three rotations, a generation of lines written after each (a new file, or the same
    one for copytruncate); the number of lines written in all (including the first)."""
    logs = work / "logs"
    n = PER_GEN
    for gen in range(1, 4):
        logrotate(work, MODES[mode])
        if mode != "copytruncate-compress":
            writer.close()
            writer = LogWriter(logs / "app.log")  # the application reopens its log
        writer.write(numbered(gen * 100_000, PER_GEN, tag=f"gen{gen}", pad=100))
        n += PER_GEN
    return writer, n


def _expected() -> list[int]:
    return [k for gen in range(4) for k in range(gen * 100_000, gen * 100_000 + PER_GEN)]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rotated_and_compressed_three_times_while_the_sink_is_down(work: Path, mode: str) -> None:
    logs = work / "logs"
    server = HttpTestServer(listening=False)
    config = _config(work, server.url("/push"))
    writer = LogWriter(logs / "app.log")
    writer.write(numbered(0, PER_GEN, tag="gen0", pad=100))
    with server, Daemon(config) as d:
        d.wait_started()
        down_since = time.monotonic()
        wait_for(lambda: "http request failed" in d.log(), 10, what="the sink to be refused")
        writer, total = _rotate_three_times(work, mode, writer)
        if mode != "compress-delaycompress":
            assert not (logs / "app.log.1").exists() and (logs / "app.log.3.gz").exists()
        wait_for(lambda: time.monotonic() - down_since >= 30, 35, interval=0.5, what="a 30 s outage")
        assert not _delivered(server)
        server.start()
        wait_for(lambda: _delivered(server).count(b"\n") >= total, 60, what="every line after the outage")
        assert d.stop() == 0, d.log()[-3000:]
    check_sequence(_delivered(server), _expected())
    writer.close()


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_rotated_and_compressed_three_times_while_stopped(work: Path, mode: str, stop: str) -> None:
    """The first generation half delivered (the sink refused the rest), then logproc is
    stopped; three rotations with compression happen while it is down; restarted with the
    sink up: every line once after SIGTERM, none missing after SIGKILL."""
    logs = work / "logs"
    with HttpTestServer() as server:
        config = _config(work, server.url("/push"))
        writer = LogWriter(logs / "app.log")
        writer.write(numbered(0, PER_GEN // 2, tag="gen0", pad=100))
        with Daemon(config) as d:
            d.wait_started()
            wait_for(lambda: _delivered(server).count(b"\n") >= PER_GEN // 2, 20, what="the first lines")
            server.respond = lambda r: Reply(503)  # the sink goes down
            writer.write(numbered(PER_GEN // 2, PER_GEN - PER_GEN // 2, tag="gen0", pad=100))
            wait_for(lambda: server.count >= 3 and "http request failed" in d.log(), 10,
                     what="the sink to refuse")
            if stop == "SIGTERM":
                assert d.stop(timeout=60) in (0, 1)
            else:
                d.kill()
        writer, total = _rotate_three_times(work, mode, writer)
        server.respond = lambda r: Reply(200)
        with Daemon(config) as d:
            d.wait_started()
            wait_for(lambda: len(set(_seqs(_delivered(server)))) >= total, 60, what="every line")
            assert d.stop() == 0, d.log()[-3000:]
    check_sequence(_delivered(server), _expected(), allow_dups=0 if stop == "SIGTERM" else 10 * PER_GEN)
    writer.close()


def _seqs(data: bytes) -> list[int]:
    return [int(m) for m in SEQ.findall(data)]


def test_known_loss_of_an_archive_cut_short_is_counted(work: Path) -> None:
    """A generation half read when logproc stopped is rotated and compressed, and the archive
    is then cut short: what decodes past the checkpoint is delivered, and the bytes its file
    was known to hold beyond that are counted as lost (corrupt)."""
    logs = work / "logs"
    with HttpTestServer() as server:
        config = _config(work, server.url("/push"))
        writer = LogWriter(logs / "app.log")
        writer.write(numbered(0, 1000, tag="gen0", pad=100))
        with Daemon(config) as d:
            d.wait_started()
            wait_for(lambda: _delivered(server).count(b"\n") >= 1000, 20, what="the first lines")
            server.respond = lambda r: Reply(503)
            writer.write(numbered(1000, 9000, tag="gen0", pad=100))
            size = (logs / "app.log").stat().st_size
            wait_for(lambda: f'"size":{size}' in (work / "state" / "checkpoints.json").read_text(), 10,
                     what="the size seen by a stat pass")
            assert d.stop(timeout=60) in (0, 1)
        logrotate(work, MODES["compress"])
        archive = logs / "app.log.1.gz"
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) // 2])
        old = time.time() - 3600
        os.utime(archive, (old, old))
        server.respond = lambda r: Reply(200)
        with Daemon(config) as d:
            d.wait_started()
            wait_for(lambda: "archive cut short or corrupt" in d.log(), 20, what="the archive reported")
            assert d.stop() == 0
            text = d.log()
    seqs = sorted(set(_seqs(_delivered(server))))
    assert seqs == list(range(len(seqs))) and 1000 < len(seqs) < 10_000
    events = [orjson.loads(x) for x in text.splitlines()]
    broke = next(e for e in events if e["event"].startswith("archive cut short"))
    # decoded: every delivered line, and the torn start of the next (delivered as the last
    # piece of a file that will not grow); lost: the rest of what the file was seen to hold
    assert len(numbered(0, len(seqs), tag="gen0", pad=100)) <= broke["offset"]
    stats = [e for e in events if e["event"] == "source stats"][-1]
    assert stats["bytes_lost_corrupt"] == broke["lost"] == size - broke["offset"] > 0
    assert stats["broken_archives"] == 1
    writer.close()
