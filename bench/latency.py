#!/usr/bin/env python3
"""Delivery latency: lines appended at 20,000 lines/s for 30 s to a tailed file, file sink.

usage: bench/latency.py [--rate 20000] [--seconds 30] [--workers N]

Runs the real `logproc run` (LOGPROC_CMD, else this interpreter's `-m logproc`; see
logproc.testing) on a logfmt source and a JSON file sink. A writer appends numbered lines
(`seq=<n> level=info probe=latency`: no msg key, so the whole line is the message and the
number shows in the output; logproc.testing.LogWriter) every millisecond in step with the
clock and notes when each was written; a reader polls the sink's file every millisecond and notes when each
number arrives. Prints p50 / p99 / max of arrival - write (target: p99 < 100 ms) and checks
with logproc.testing.check_sequence that every line arrived exactly once.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

from logproc.testing import Daemon, LogWriter, check_sequence, wait_for

SEQ = re.compile(rb"seq=(\d+)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=20_000, help="lines per second")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=None, help="[daemon] workers (default: automatic)")
    a = ap.parse_args()
    total = int(a.rate * a.seconds)
    written = [0.0] * total
    arrived = [0.0] * total
    with tempfile.TemporaryDirectory(prefix="logproc-latency-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        log_path = work / "logs" / "app.log"
        log_path.touch()
        out = work / "out.jsonl"
        workers = "" if a.workers is None else f"workers = {a.workers}\n"
        config = work / "logproc.toml"
        config.write_text(
            f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n{workers}\n'
            f'[sources.app]\npaths = ["{log_path}"]\nparser = "logfmt"\n\n'
            f'[sinks.out]\ntype = "file"\npath = "{out}"\nformat = "json"\n'
        )
        done = threading.Event()

        def read() -> None:
            pos, carry = 0, b""
            while True:
                finished = done.is_set()
                try:
                    with open(out, "rb") as f:
                        f.seek(pos)
                        data = f.read()
                except FileNotFoundError:
                    data = b""
                now = time.monotonic()
                if data:
                    pos += len(data)
                    data, carry = carry + data, b""
                    cut = data.rfind(b"\n") + 1
                    data, carry = data[:cut], data[cut:]
                    for m in SEQ.finditer(data):
                        n = int(m.group(1))
                        if n < total and not arrived[n]:
                            arrived[n] = now
                elif finished:
                    return
                time.sleep(0.001)

        with Daemon(config) as d:
            d.wait_started()
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            writer = LogWriter(log_path)
            start = time.monotonic()
            n = 0
            while n < total:
                due = min(total, int((time.monotonic() - start) * a.rate) + 1)
                if due > n:
                    now = time.monotonic()
                    lines = "".join(f"seq={i} level=info probe=latency\n" for i in range(n, due))
                    writer.write(lines.encode())
                    for i in range(n, due):
                        written[i] = now
                    n = due
                time.sleep(0.001)
            writer.close()
            wait_for(lambda: all(arrived[-100:]) and all(arrived), timeout=60, interval=0.1,
                     what="every line in the sink")
            done.set()
            reader.join(10)
            rc = d.stop()
        check_sequence(out.read_bytes(), total)
    lat = sorted(arrived[i] - written[i] for i in range(total))
    ms = [x * 1000 for x in (lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1])]
    print(f"latency: {total} lines at {a.rate}/s over {a.seconds:.0f} s: p50 {ms[0]:.1f} ms, "
          f"p99 {ms[1]:.1f} ms, max {ms[2]:.1f} ms (target p99 < 100 ms); exit code {rc}")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
