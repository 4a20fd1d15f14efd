"""Memory stays bounded by the queue, not by the input: 1 GiB into a sink that blocks."""

from __future__ import annotations

import os
import subprocess

import pytest

from logproc.testing import Daemon, check_sequence, wait_for

pytestmark = pytest.mark.e2e

GIB = 1 << 30
LIMIT_KIB = 150 * 1024


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/{pid}/status")


def _rchar(pid: int) -> int:
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def _stalled(pid: int, samples: list[int]) -> bool:
    """True once the process has stopped reading over the last 10 polls (stat passes go on
    while reading waits: they read a few dozen bytes per file, never a 1 MiB chunk)."""
    samples.append(_rchar(pid))
    return len(samples) > 10 and samples[-1] - samples[-11] < 16 * 1024


def test_one_gib_into_a_blocked_sink_stays_under_150_mib(work, write_config):
    """The stdout sink writes into a pipe nobody reads: the queue fills, the watcher waits,
    and peak RSS (VmHWM) stays under 150 MiB while 1 GiB waits on disk."""
    line = b"x" * 1000
    block = b"".join(b"seq=%d %s\n" % (i, line) for i in range(1000))
    path = work / "logs" / "big.log"
    with open(path, "wb") as f:
        for _ in range(GIB // len(block) + 1):
            f.write(block)
    assert path.stat().st_size >= GIB
    config = write_config(
        """
        [sources.big]
        paths = ["{work}/logs/big.log"]
        parser = "plain"

        [sinks.out]
        type = "stdout"
        format = "json"
        """
    )
    r, w = os.pipe()
    try:
        with Daemon(config, stdout=w) as d:
            os.close(w)
            w = -1
            d.wait_started()
            samples: list[int] = []
            wait_for(lambda: _stalled(d.pid, samples), 60, 0.1, what="the reader to stall on the full queue")
            # it really read ahead of the sink (and is now held back), it did not just sit idle
            assert _rchar(d.pid) > 10 * 1024 * 1024
            first = os.read(r, 1 << 16)
            check_sequence(first.split(b"\n")[0], [0])
            hwm = _status(d.pid, "VmHWM")
            assert hwm < LIMIT_KIB, f"peak RSS {hwm} KiB"
            # let 100 MiB through, then it stalls again, still bounded
            got = 0
            while got < 100 * 1024 * 1024:
                got += len(os.read(r, 1 << 20))
            samples.clear()
            wait_for(lambda: _stalled(d.pid, samples), 60, 0.1, what="the reader to stall again")
            hwm = _status(d.pid, "VmHWM")
            assert hwm < LIMIT_KIB, f"peak RSS {hwm} KiB"
            d.kill()
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
        subprocess.run(["rm", "-f", str(path)], check=False)
