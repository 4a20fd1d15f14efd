#!/usr/bin/env python3
"""Reading an archive against reading the same file uncompressed: `logproc run --once`
doing J2's work (parse JSON, drop debug, add a field, write JSON lines) on a 1,000,000-line
JSON log, as a plain file and gzip-compressed; also what resuming inside an archive costs
(the decoding that is thrown away up to a checkpoint's offset).

usage: bench/archive.py [--lines N] [--repeat N] [--logproc-cmd CMD] [--gen PATH]

The corpus comes from the side-by-side benchmark's generator (`--gen`, default
../shared/bench/gen.py beside this checkout). Best wall time of `--repeat` runs each
(fresh state every run), CPU seconds of the whole process tree, and the ratio.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def config(work: Path, glob: str) -> Path:
    path = work / "logproc.toml"
    path.write_text(
        f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\nwatch_config = false\n\n'
        f'[sources.bench]\npaths = ["{glob}"]\nparser = "json"\nfields = {{ host = "bench" }}\n\n'
        f'[sinks.out]\ntype = "file"\npath = "{work}/out.jsonl"\nformat = "json"\n'
        'exclude = { level = "^debug$" }\n')
    return path


def run_once(cmd: list[str], work: Path, glob: str) -> tuple[float, float, int]:
    shutil.rmtree(work / "state", ignore_errors=True)
    (work / "out.jsonl").unlink(missing_ok=True)
    cfg = config(work, glob)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run([*cmd, "run", "--once", "-c", str(cfg)], check=True, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(work / "out.jsonl", "rb") as f:
        lines = sum(1 for _ in f)
    return wall, cpu, lines


def resume_cost(path: Path, fraction: float) -> float:
    """Seconds to decode and discard `fraction` of the archive (what resuming there costs)."""
    sys.path.insert(0, str(ROOT))
    from logproc.sources.file.compressed import Decompressed

    size = sum(len(chunk) for chunk in _chunks(path))
    fd = os.open(path, os.O_RDONLY)
    try:
        start = time.monotonic()
        Decompressed(fd, "gzip").skip(int(size * fraction))
        return time.monotonic() - start
    finally:
        os.close(fd)


def _chunks(path: Path):  # noqa: ANN202
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--logproc-cmd", default=str(ROOT / ".venv" / "bin" / "logproc"))
    p.add_argument("--gen", default=str(ROOT.parent / "shared" / "bench" / "gen.py"))
    args = p.parse_args()
    cmd = args.logproc_cmd.split()
    with tempfile.TemporaryDirectory(prefix="logproc-archive-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        plain = work / "logs" / "app.log"
        subprocess.run([sys.executable, args.gen, "json", str(args.lines), str(plain)], check=True)
        packed = work / "logs" / "app.log.1.gz"
        with open(plain, "rb") as src, gzip.open(packed, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        results = {}
        for name, glob in (("plain", str(plain)), ("gzip", str(packed))):
            runs = [run_once(cmd, work, glob) for _ in range(args.repeat)]
            results[name] = min(runs)
        print(f"corpus: {args.lines} lines, {plain.stat().st_size} bytes; gzip: {packed.stat().st_size} bytes")
        print(f"{'file':6} {'best_s':>7} {'cpu_s':>7} {'lines':>9}")
        for name, (wall, cpu, lines) in results.items():
            print(f"{name:6} {wall:7.2f} {cpu:7.2f} {lines:9d}")
        print(f"gzip / plain (wall): {results['gzip'][0] / results['plain'][0]:.2f}")
        for fraction in (0.5, 1.0):
            print(f"resume at {fraction:.0%} of the archive: {resume_cost(packed, fraction):.2f} s of decoding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
