#!/usr/bin/env python3
"""CPU of an idle daemon: 100 watched files, nothing written, for 60 s (target: < 1 % of one core).

usage: bench/idle.py [--files 100] [--seconds 60] [--workers N]

Runs the real `logproc run` (LOGPROC_CMD, else this interpreter's `-m logproc`; see
logproc.testing) on a JSON source over the files and a file sink, waits until it has
started and settled, then reads utime+stime of the daemon and of its worker processes from
/proc at the start and the end of the window. Prints the CPU % of one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from logproc.testing import Daemon

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime+stime of `pid` and of its live children (the worker processes)."""
    total = 0.0
    pids = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            pids += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except FileNotFoundError:
            continue
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=None, help="[daemon] workers (default: automatic)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="logproc-idle-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        for i in range(a.files):
            (work / "logs" / f"app{i}.log").write_bytes(b'{"level":"info","message":"hello"}\n')
        workers = "" if a.workers is None else f"workers = {a.workers}\n"
        config = work / "logproc.toml"
        config.write_text(
            f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n{workers}\n'
            f'[sources.app]\npaths = ["{work}/logs/*.log"]\nparser = "json"\n\n'
            f'[sinks.out]\ntype = "file"\npath = "{work}/out.jsonl"\nformat = "json"\n'
        )
        with Daemon(config) as d:
            d.wait_started()
            time.sleep(2.0)  # settle: the first lines delivered, start-up work done
            c0, t0 = cpu_seconds(d.pid), time.monotonic()
            time.sleep(a.seconds)
            c1, t1 = cpu_seconds(d.pid), time.monotonic()
            rc = d.stop()
        pct = 100.0 * (c1 - c0) / (t1 - t0)
        print(f"idle: {a.files} files, {t1 - t0:.0f} s: logproc CPU {pct:.2f} % of one core "
              f"({c1 - c0:.2f} s; target < 1 %); exit code {rc}")
        return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
