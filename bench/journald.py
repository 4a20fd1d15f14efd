#!/usr/bin/env python3
"""Reading the journal: `logproc run --once` with a `journald` source (every entry mapped
to logproc's entry model and written as JSON lines to a file) against `journalctl -o json`
alone writing to /dev/null — the floor, since logproc reads through journalctl.

usage: bench/journald.py [--entries N] [--repeat N] [--logproc-cmd CMD]

The journal is written once into a temporary folder by systemd-journal-remote (Debian's
`systemd-journal-remote` package) from journal export format: N entries with the fields a
service's entry has (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, _PID, _SYSTEMD_UNIT, _HOSTNAME,
_TRANSPORT). Best wall time of `--repeat` runs each, CPU seconds of the whole process tree
(journalctl included), entries per second, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REMOTE = shutil.which("systemd-journal-remote") or "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"


def write_journal(folder: Path, n: int) -> None:
    start = int(time.time() * 1e6) - n
    proc = subprocess.Popen([REMOTE, f"--output={folder}/bench.journal", "-"],
                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    chunk: list[bytes] = []
    for i in range(n):
        chunk.append(
            b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n"
            b"MESSAGE=request %07d served in 12 ms status=200 path=/api/items\n"
            b"PRIORITY=%d\nSYSLOG_IDENTIFIER=app\n_PID=4242\n_SYSTEMD_UNIT=app.service\n"
            b"_HOSTNAME=bench\n_TRANSPORT=journal\n\n"
            % (start + i, 1_000_000 + i, BOOT.encode(), i, 6 if i % 10 else 4))
        if len(chunk) == 5000:
            proc.stdin.write(b"".join(chunk))
            chunk = []
    proc.stdin.write(b"".join(chunk))
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("systemd-journal-remote failed")


def timed(cmd: list[str], stdout: int | None = None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=stdout, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def logproc_run(cmd: list[str], work: Path, journal: Path) -> tuple[float, float, int]:
    shutil.rmtree(work / "state", ignore_errors=True)
    out = work / "out.jsonl"
    out.unlink(missing_ok=True)
    conf = work / "logproc.toml"
    conf.write_text(
        f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n\n'
        f'[sources.journal]\ntype = "journald"\ndirectory = "{journal}"\nstart_at = "beginning"\n\n'
        f'[sinks.out]\ntype = "file"\npath = "{out}"\nformat = "json"\n')
    wall, cpu = timed([*cmd, "run", "--once", "-c", str(conf)])
    with out.open("rb") as f:
        return wall, cpu, sum(1 for _ in f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    venv = Path(__file__).resolve().parent.parent / ".venv/bin/logproc"
    ap.add_argument("--logproc-cmd", default=str(venv))
    a = ap.parse_args()
    cmd = a.logproc_cmd.split()
    with tempfile.TemporaryDirectory(prefix="logproc-journald-bench-") as tmp:
        work = Path(tmp)
        journal = work / "journal"
        journal.mkdir()
        write_journal(journal, a.entries)
        reader = ["journalctl", "--directory", str(journal), "-o", "json", "--all", "--no-pager"]
        jc = [min(timed(reader, stdout=subprocess.DEVNULL) for _ in range(a.repeat))]
        lp = []
        for _ in range(a.repeat):
            wall, cpu, n = logproc_run(cmd, work, journal)
            if n != a.entries:
                raise SystemExit(f"logproc wrote {n} entries, expected {a.entries}")
            lp.append((wall, cpu))
        (jw, jcpu), (lw, lcpu) = jc[0], min(lp)
        print(f"{a.entries:,} journal entries, best of {a.repeat} ({os.cpu_count()} CPUs)")
        print(f"{'':28}{'wall s':>8}{'CPU s':>8}{'entries/s':>12}")
        print(f"{'journalctl -o json':28}{jw:8.2f}{jcpu:8.2f}{a.entries / jw:12,.0f}")
        print(f"{'logproc (journald → file)':28}{lw:8.2f}{lcpu:8.2f}{a.entries / lw:12,.0f}")
        print(f"{'ratio logproc / journalctl':28}{lw / jw:8.2f}{lcpu / jcpu:8.2f}")


if __name__ == "__main__":
    main()
