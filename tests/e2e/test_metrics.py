"""`/metrics` and `/health` of the real `logproc run`, on a free loopback port: counters equal
what was written (exact values), drops and parse errors land in their series, `/health`
turns 503 naming a wedged sink and recovers, a taken port is a clear start-up error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

import logproc
from logproc.testing import Daemon, LogWriter, numbered, run_once, wait_for

pytestmark = pytest.mark.e2e

DAEMON = """
[daemon]
state_dir = "{{work}}/state"
metrics_address = "127.0.0.1:{port}"
watch_config = false
checkpoint_interval = 0.2
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample, keyed by (sample name, labels), parsed by prometheus-client's parser."""
    status, body = get(port, "/metrics")
    assert status == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.mark.timeout(30)
def test_counters_equal_what_was_written(work, write_config):
    """json lines, some tagged for a sink's exclude filter, some at debug level under a
    min_level, some not JSON (parse errors: delivered, not dropped) and some empty."""
    port = free_port()
    cfg = write_config(DAEMON.format(port=port) + """
        [sources.app]
        paths = ["{work}/logs/*.log"]
        parser = "json"

        [sinks.all]
        type = "file"
        path = "{work}/out/all.log"
        format = "raw"

        [sinks.picky]
        type = "file"
        path = "{work}/out/picky.log"
        format = "json"
        min_level = "info"
        exclude = { message = "drop-me" }
        """)
    good, tagged, debug, bad, empty = 300, 40, 25, 7, 11
    data = b"".join([
        b"".join(orjson.dumps({"message": f"seq={n}", "level": "info"}) + b"\n" for n in range(good)),
        b"".join(orjson.dumps({"message": f"seq={n} drop-me", "level": "info"}) + b"\n"
                 for n in range(good, good + tagged)),
        b"".join(orjson.dumps({"message": f"seq={n}", "level": "debug"}) + b"\n"
                 for n in range(good + tagged, good + tagged + debug)),
        numbered(1000, bad, tag="{not json"),
        b"\n" * empty,
    ])
    w = LogWriter(work / "logs" / "app.log")
    entries = good + tagged + debug + bad
    with Daemon(cfg) as d:
        d.wait_started()
        w.write(data)
        size = (work / "logs" / "app.log").stat().st_size
        assert size == len(data)
        wait_for(lambda: value(scrape(port), "logproc_source_bytes_acknowledged_total", source="app") == size,
                 15, what="every byte acknowledged")
        m = scrape(port)
        assert value(m, "logproc_source_lines_read_total", source="app") == entries
        assert value(m, "logproc_source_bytes_read_total", source="app") == size
        assert value(m, "logproc_source_parse_errors_total", source="app") == bad
        assert value(m, "logproc_source_checkpoint_lag_bytes", source="app") == 0
        assert value(m, "logproc_source_files_watched", source="app") == 1
        assert value(m, "logproc_source_bytes_lost_total", source="app", reason="gone") == 0
        assert value(m, "logproc_sink_entries_written_total", sink="all") == entries
        assert value(m, "logproc_sink_entries_written_total", sink="picky") == entries - tagged - debug
        dropped = "logproc_entries_dropped_total"
        assert value(m, dropped, reason="empty", source="app") == empty
        assert value(m, dropped, reason="filter", sink="picky") == tagged
        assert value(m, dropped, reason="min_level", sink="picky") == debug
        assert value(m, dropped, reason="filter", sink="all") == 0
        assert value(m, dropped, reason="sink_full", sink="all") == 0
        assert value(m, "logproc_queue_depth") == 0
        assert value(m, "logproc_queue_capacity") == 10000
        assert value(m, "logproc_build_info", version=logproc.__version__,
                     python=".".join(map(str, sys.version_info[:3]))) == 1
        # the histogram: cumulative buckets ending at +Inf == count >= 1 write
        count = value(m, "logproc_sink_request_duration_seconds_count", sink="all")
        assert count >= 1
        assert value(m, "logproc_sink_request_duration_seconds_bucket", sink="all", le="+Inf") == count
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in m.items()
                         if k[0] == "logproc_sink_request_duration_seconds_bucket"
                         and dict(k[1])["sink"] == "all")
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)
        assert get(port, "/health") == (200, b'{"status":"ok","phase":"running"}\n')
        assert get(port, "/nope")[0] == 404
        assert d.stop() == 0
    w.close()


@pytest.mark.timeout(40)
def test_health_names_a_wedged_sink_then_recovers(work, write_config):
    """A stdout sink whose reader stops reading: past the stall window (1 s here) the sink
    is stuck in one write and /health answers 503 naming it; reading again brings 200 back."""
    port = free_port()
    cfg = write_config(DAEMON.format(port=port) + """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.out]
        type = "stdout"
        format = "raw"
        """)
    w = LogWriter(work / "logs" / "app.log")
    lines = 20_000
    with Daemon(cfg, env={"LOGPROC_STALL_SECONDS": "1"}, stdout=subprocess.PIPE) as d:
        d.wait_started()
        assert get(port, "/health")[0] == 200
        w.write(numbered(0, lines, pad=40))  # ~1 MiB: far more than the pipe holds

        def unhealthy() -> dict | None:
            status, body = get(port, "/health")
            return orjson.loads(body) if status == 503 else None

        body = wait_for(unhealthy, 15, interval=0.1, what="/health to answer 503")
        assert body["status"] == "unhealthy"
        assert any("sink 'out'" in p and "stuck" in p for p in body["problems"]), body
        assert d.proc.stdout is not None
        out = b""
        while out.count(b"\n") < lines:
            out += os.read(d.proc.stdout.fileno(), 1 << 20)
        wait_for(lambda: get(port, "/health")[0] == 200, 10, interval=0.1, what="/health to recover")
        assert value(scrape(port), "logproc_sink_entries_written_total", sink="out") == lines
        assert d.stop() == 0
    w.close()


@pytest.mark.timeout(30)
def test_health_goes_503_when_a_consumer_thread_dies(work, write_config):
    """A consumer thread that ends (the `LOGPROC_FAULT=consumer-exit` seam ends consumer-0
    after its first batch, as a bug would): /health answers 503 naming it, and the other
    consumer still delivers every line."""
    port = free_port()
    cfg = write_config(DAEMON.format(port=port) + """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.out]
        type = "file"
        path = "{work}/out/all.log"
        format = "raw"
        """)
    w = LogWriter(work / "logs" / "app.log")
    out = work / "out" / "all.log"

    def delivered() -> int:
        return out.read_bytes().count(b"\n") if out.exists() else 0

    with Daemon(cfg, env={"LOGPROC_FAULT": "consumer-exit"}) as d:
        d.wait_started()
        written = 0
        while "consumer thread ends" not in d.log():  # batches until consumer-0 took one
            assert written < 200, "consumer-0 never took a batch"
            w.write(numbered(written, 10))
            written += 10
            wait_for(lambda n=written: delivered() >= n, 10, what="a batch")
        body = wait_for(lambda: (r := get(port, "/health"))[0] == 503 and r[1], 10, interval=0.1,
                        what="/health to answer 503")
        doc = orjson.loads(body)
        assert doc["status"] == "unhealthy" and "consumer-0 is not running" in doc["problems"], doc
        w.write(numbered(written, 100))
        wait_for(lambda: delivered() == written + 100, 10, what="the other consumer to deliver the rest")
        d.stop()
    w.close()


@pytest.mark.timeout(30)
def test_a_taken_port_is_a_start_up_error_but_not_for_once(work, write_config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = write_config(DAEMON.format(port=port) + """
            [sources.app]
            paths = ["{work}/logs/*.log"]

            [sinks.out]
            type = "file"
            path = "{work}/out/all.log"
            """)
        LogWriter(work / "logs" / "app.log").write(numbered(0, 10))
        with Daemon(cfg) as d:
            assert d.wait(20) == 1
            assert "cannot serve metrics on metrics_address" in d.log()
        out = work / "out" / "all.log"
        assert not out.exists() or out.stat().st_size == 0  # nothing was delivered
        done = run_once(cfg, timeout=20)  # --once serves no metrics: the port does not matter
        assert done.returncode == 0, done.stderr.decode()
    assert (work / "out" / "all.log").read_bytes().count(b"\n") == 10
