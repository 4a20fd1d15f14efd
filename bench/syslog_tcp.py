#!/usr/bin/env python3
"""A syslog receiver under load: N RFC 5424 messages over TCP (octet counting, several
connections at once) into (a) logproc, a `syslog` source and a file sink writing JSON
lines (parsed: every message becomes an entry), and (b) rsyslogd, unprivileged, imtcp →
omfile (its default file format: no JSON). Timed from the first byte sent until the
output file holds every message; CPU is the whole process tree's (the daemon's rusage
once it exited, its worker processes included).

usage: bench/syslog_tcp.py [--messages N] [--connections N] [--logproc-cmd CMD]

Prints one row per receiver and the ratio logproc / rsyslogd (below 1: logproc is faster).
The sender is the same for both: payloads built before the clock starts, sent by one
thread per connection with sendall.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RSYSLOGD = "/usr/sbin/rsyslogd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def payloads(total: int, connections: int) -> list[bytes]:
    out = []
    per = total // connections
    for c in range(connections):
        n = per if c < connections - 1 else total - per * (connections - 1)
        first = c * per
        frames = []
        for i in range(first, first + n):
            msg = (f"<134>1 2026-12-01T10:00:00.{i % 1000:03d}Z bench-host app{c} {4000 + c} ID47 "
                   f'[meta seq="{i}"] request handled seq={i} status=200 path=/api/v1/items').encode()
            frames.append(b"%d %b" % (len(msg), msg))
        out.append(b"".join(frames))
    return out


def count_lines(path: Path, state: list[int]) -> int:
    """Lines in `path`, read incrementally (state = [position, lines])."""
    try:
        with open(path, "rb") as f:
            f.seek(state[0])
            data = f.read()
    except FileNotFoundError:
        return 0
    state[0] += len(data)
    state[1] += data.count(b"\n")
    return state[1]


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the receiver exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def send_all(port: int, blobs: list[bytes]) -> None:
    def one(blob: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(blob)

    threads = [threading.Thread(target=one, args=(b,)) for b in blobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def measure(name: str, cmd: list[str], port: int, out: Path, expected: int, blobs: list[bytes],
            log: Path, baseline: int = 0) -> tuple[float, float]:
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    wait_port(port, proc)
    state = [0, 0]
    while count_lines(out, state) < baseline:  # probes the readiness check may have left
        time.sleep(0.01)
    start = time.monotonic()
    send_all(port, blobs)
    while count_lines(out, state) < baseline + expected:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}; see {log}")
        time.sleep(0.005)
    wall = time.monotonic() - start
    proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--logproc-cmd", default=os.environ.get("LOGPROC_CMD", f"{sys.executable} -m logproc"))
    args = ap.parse_args()
    blobs = payloads(args.messages, args.connections)
    rows = []
    with tempfile.TemporaryDirectory(prefix="syslog-bench-") as tmp:
        work = Path(tmp)
        # (a) logproc
        (work / "state").mkdir(mode=0o700)
        port = free_port()
        cfg = work / "logproc.toml"
        cfg.write_text(
            f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n\n'
            f'[sources.net]\ntype = "syslog"\nlisten = ["tcp://127.0.0.1:{port}"]\n\n'
            f'[sinks.out]\ntype = "file"\npath = "{work}/logproc.jsonl"\nformat = "json"\n')
        cmd = [*shlex.split(args.logproc_cmd), "run", "-c", str(cfg)]
        rows.append(("logproc", *measure("logproc", cmd, port, work / "logproc.jsonl", args.messages,
                                         blobs, work / "logproc.stderr")))
        # (b) rsyslogd: imtcp -> omfile; the readiness probe connects without sending
        port = free_port()
        conf = work / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{work}" maxMessageSize="64k")\n'
            'module(load="imtcp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
            f'action(type="omfile" file="{work}/rsyslog.log")\n')
        cmd = [RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")]
        rows.append(("rsyslogd", *measure("rsyslogd", cmd, port, work / "rsyslog.log", args.messages,
                                          blobs, work / "rsyslogd.stderr")))
    print(f"{args.messages} RFC 5424 messages over TCP, {args.connections} connections, octet counting")
    print(f"{'receiver':<10} {'wall s':>8} {'cpu s':>8} {'msg/s':>10}")
    for name, wall, cpu in rows:
        print(f"{name:<10} {wall:8.2f} {cpu:8.2f} {args.messages / wall:10.0f}")
    (_, lw, lc), (_, rw, rc) = rows
    print(f"{'ratio':<10} {lw / rw:8.2f} {lc / rc if rc else float('inf'):8.2f}   (logproc / rsyslogd)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
