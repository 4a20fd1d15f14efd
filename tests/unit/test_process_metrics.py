"""logproc.metrics.process: the six standard `process_*` series with sane values, read from
what `ProcSubset=pid` leaves (checked under a real `subset=pid` /proc where the test may
mount one); a series whose source is missing is left out, the others stay."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.process_collector import ProcessCollector as ClientProcessCollector
from prometheus_client.registry import Collector

import logproc.metrics.collector
import logproc.metrics.server
from logproc.metrics import bind
from logproc.metrics.process import ProcessCollector

SERIES = {"process_cpu_seconds_total", "process_open_fds", "process_max_fds",
          "process_virtual_memory_bytes", "process_resident_memory_bytes",
          "process_start_time_seconds"}


def samples(collector) -> dict[str, float]:
    return {s.name: s.value for m in collector.collect() for s in m.samples}


def test_the_same_series_as_prometheus_client():
    """Names, types and help texts: a dashboard cannot tell the two apart."""
    ours = {m.name: (m.type, m.documentation) for m in ProcessCollector().collect()}
    theirs = {m.name: (m.type, m.documentation) for m in ClientProcessCollector(registry=None).collect()}
    assert ours == theirs
    assert set(samples(ProcessCollector())) == SERIES


def test_bind_registers_this_collector(monkeypatch):
    """The daemon's registry (`logproc.metrics.bind`) has the six series, once each: ours,
    not prometheus-client's beside it. (The pipeline collector and the server are stubs.)"""

    class NoPipeline(Collector):
        def __init__(self, owner):
            pass

        def collect(self):
            return iter(())

    class Server:
        def __init__(self, address, registry):
            self.registry = registry

    monkeypatch.setattr(logproc.metrics.collector, "PipelineCollector", NoPipeline)
    monkeypatch.setattr(logproc.metrics.server, "MetricsServer", Server)
    server = bind(object(), "127.0.0.1:0")
    assert isinstance(server, Server)
    names = [s.name for m in server.registry.collect() for s in m.samples if s.name.startswith("process_")]
    assert sorted(names) == sorted(SERIES)  # prometheus-client's as well would list each twice


def test_cpu_seconds_grow_with_a_busy_loop():
    c = ProcessCollector()
    before = samples(c)["process_cpu_seconds_total"]
    assert before > 0
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    after = samples(c)["process_cpu_seconds_total"]
    assert 0.2 <= after - before <= 5


def test_open_fds_follow_the_process():
    c = ProcessCollector()
    assert abs(samples(c)["process_open_fds"] - len(os.listdir("/proc/self/fd"))) <= 1
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(10)]
    try:
        assert abs(samples(c)["process_open_fds"] - len(os.listdir("/proc/self/fd"))) <= 1
    finally:
        for fd in fds:
            os.close(fd)


def test_max_fds_is_the_soft_limit_and_memory_is_plausible():
    m = samples(ProcessCollector())
    assert m["process_max_fds"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert 1 << 20 < m["process_resident_memory_bytes"] <= m["process_virtual_memory_bytes"]


def test_start_time_is_when_the_process_started():
    """A fresh interpreter notes the time on its first line: the start time reported is a
    little before it (the interpreter's own start-up), never after; and in this process it
    agrees with the boot time + start ticks that prometheus-client computes (whose boot
    time is in whole seconds, hence the margin)."""
    code = ("import time; t0 = time.time()\n"
            "from logproc.metrics.process import ProcessCollector\n"
            "m = {s.name: s.value for f in ProcessCollector().collect() for s in f.samples}\n"
            "print(t0, m['process_start_time_seconds'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    t0, start = map(float, out.stdout.split())
    assert 0 <= t0 - start < 3
    ours = samples(ProcessCollector())["process_start_time_seconds"]
    theirs = samples(ClientProcessCollector(registry=None))["process_start_time_seconds"]
    assert abs(ours - theirs) < 1.5
    assert ours < time.time()


def test_start_time_is_kept_not_recomputed():
    c = ProcessCollector()
    first = samples(c)["process_start_time_seconds"]
    time.sleep(0.05)
    assert samples(c)["process_start_time_seconds"] == first


def test_a_missing_source_leaves_out_its_series_only(tmp_path: Path):
    """No /proc at all: what comes from system calls is still there."""
    assert set(samples(ProcessCollector(proc=str(tmp_path)))) == {"process_cpu_seconds_total",
                                                                  "process_max_fds"}


def test_a_command_name_with_parentheses_and_spaces(tmp_path: Path):
    """`/proc/<pid>/stat` fields are counted after the last ")": the name may hold both."""
    fields = ["S"] + ["0"] * 40
    fields[19], fields[20], fields[21] = "12345", "409600", "25"  # starttime, vsize, rss (pages)
    (tmp_path / "self" / "fd").mkdir(parents=True)
    (tmp_path / "self" / "stat").write_text("4242 (a) b (c d)) " + " ".join(fields) + "\n")
    m = samples(ProcessCollector(proc=str(tmp_path)))
    assert m["process_virtual_memory_bytes"] == 409600
    assert m["process_resident_memory_bytes"] == 25 * resource.getpagesize()
    assert m["process_open_fds"] == 0
    assert "process_start_time_seconds" in m


def test_under_a_subset_pid_proc():
    """In a mount namespace whose /proc is mounted as `ProcSubset=pid` mounts it (needs
    root): prometheus-client's collector yields nothing, ours all six series."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        pytest.skip("needs root and unshare(1) to mount a subset=pid /proc")
    code = ("import os\n"
            "from prometheus_client.process_collector import ProcessCollector as C\n"
            "from logproc.metrics.process import ProcessCollector\n"
            "assert not os.path.exists('/proc/stat')\n"
            "print(sorted(f.name for f in C(registry=None).collect()))\n"
            "print(sorted(s.name for f in ProcessCollector().collect() for s in f.samples))")
    done = subprocess.run([unshare, "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c",
                           'mount -t proc -o subset=pid proc /proc && exec "$0" -c "$1"', sys.executable,
                           code], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0 and "mount" in done.stderr and "Traceback" not in done.stderr:
        pytest.skip(f"cannot mount a subset=pid /proc here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    theirs, ours = done.stdout.splitlines()
    assert theirs == "[]"
    assert ours == repr(sorted(SERIES))
