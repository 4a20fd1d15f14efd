#!/usr/bin/env python3
"""Crash soak: SIGKILL the real `logproc run` at random moments while a writer appends
numbered lines, and account for every line (reliability research §3.5, "Crash run").

A writer appends `--lines` numbered lines over `--files` files, in blocks, as fast as
logproc keeps up (at most `--max-backlog` lines written but not yet delivered), rotating
each file by rename+create every `--rotate-every` lines written to it (the rotated name,
`app<i>.log.<k>`, is in the same folder and not matched by the glob). Meanwhile logproc is
SIGKILLed at `--kills` random moments and restarted each time. At the end a final run
delivers everything and is stopped with SIGTERM (exit 0 expected), then `run --once` must
add nothing.

Reported: lines written, missing (must be 0), malformed output lines (not exactly as
written: a write torn by a kill, then appended to), duplicates in total and per kill (p50,
p90, max; the duplicates of a kill are the lines the run after it delivered that an
earlier run had delivered already), the one-batch-per-file bound they are compared to, checkpoint
read failures (`"checkpoint file is corrupt"` in logproc's own log; must be 0), and wall
time. Exit status 1 when anything is missing, a line was delivered that was never
written, or a checkpoint could not be read.

    .venv/bin/python bench/crash_soak.py                      # 200 kills, 2,000,000 lines
    .venv/bin/python bench/crash_soak.py --kills 20 --lines 200000
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from logproc.sources.file.tailer import CHUNK  # noqa: E402  (bytes a tailer reads at once: one batch)
from logproc.testing import Daemon, LogWriter, numbered  # noqa: E402

BLOCK = 1000  # lines per write
CORRUPT = "checkpoint file is corrupt"
SEQ = re.compile(rb"seq=(\d+)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--logproc-cmd", default=str(REPO / ".venv" / "bin" / "logproc"),
                   help="the logproc command (split on spaces; default: %(default)s)")
    p.add_argument("--kills", type=int, default=200, help="SIGKILLs (default %(default)s)")
    p.add_argument("--lines", type=int, default=2_000_000, help="lines to write (default %(default)s)")
    p.add_argument("--files", type=int, default=2, help="files written in turn (default %(default)s)")
    p.add_argument("--rotate-every", type=int, default=100_000,
                   help="rotate a file after this many lines written to it (default %(default)s)")
    p.add_argument("--pad", type=int, default=100, help="filler bytes per line (default %(default)s)")
    p.add_argument("--max-backlog", type=int, default=20_000,
                   help="lines written but not yet delivered before the writer waits (default %(default)s)")
    p.add_argument("--queue-size", type=int, default=10_000, help="[daemon] queue_size (default %(default)s)")
    p.add_argument("--checkpoint-interval", type=float, default=1.0,
                   help="[daemon] checkpoint_interval (default %(default)s)")
    p.add_argument("--max-kill-delay", type=float, default=0.02,
                   help="a kill comes up to this many seconds after delivery passed its point"
                        " (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    p.add_argument("--workdir", type=Path, default=None, help="work folder (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args(argv)
    if args.kills < 0 or args.lines < 1 or args.files < 1 or args.rotate_every < 1:
        p.error("--kills >= 0, --lines, --files and --rotate-every >= 1")
    return args


class Output:
    """Reads the sink's file incrementally: total lines and distinct sequence numbers."""

    def __init__(self, path: Path, total: int, pad: int) -> None:
        self.path = path
        self.total = total
        self.tail = b" " + b"x" * pad  # how every line written ends
        self.pos = 0
        self.rest = b""
        self.seen = bytearray(total)
        self.lines = 0
        self.distinct = 0
        self.unexpected = 0
        self.malformed: list[bytes] = []  # lines not exactly as written (e.g. torn by a kill)
        self.lock = threading.Lock()

    def poll(self) -> int:
        with self.lock:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.pos)
                    data = f.read()
            except FileNotFoundError:
                return self.distinct
            self.pos += len(data)
            data = self.rest + data
            cut = data.rfind(b"\n") + 1
            self.rest = data[cut:]
            seen = self.seen
            for line in data[:cut].splitlines():
                self.lines += 1
                numbers = SEQ.findall(line)
                if len(numbers) != 1 or not line.endswith(self.tail):
                    self.malformed.append(line)
                if not numbers:
                    self.unexpected += 1
                for m in numbers:
                    n = int(m)
                    if not 0 <= n < self.total:
                        self.unexpected += 1
                    elif not seen[n]:
                        seen[n] = 1
                        self.distinct += 1
            return self.distinct


class Writer(threading.Thread):
    """Appends numbered lines in blocks over several files, rotating each by rename+create."""

    def __init__(self, logs: Path, args: argparse.Namespace, out: Output) -> None:
        super().__init__(name="writer", daemon=True)
        self.args = args
        self.out = out
        self.paths = [logs / f"app{i}.log" for i in range(args.files)]
        self.writers = [LogWriter(p) for p in self.paths]
        self.per_file = [0] * args.files  # lines in the current generation of each file
        self.rotations = [0] * args.files
        self.written = 0
        self.gate = args.lines  # the writer waits before passing this many lines (set by the killer)
        self.paused = False  # set while logproc is down: the lines are written while it runs
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc

    def _run(self) -> None:
        a = self.args
        block = 0
        while self.written < a.lines:
            while (self.paused or self.written >= self.gate
                   or self.written - self.out.poll() >= a.max_backlog):
                time.sleep(0.001)
            i = block % a.files
            block += 1
            n = min(BLOCK, self.gate - self.written, a.rotate_every - self.per_file[i])
            self.writers[i].write(numbered(self.written, n, tag=f"f{i}", pad=a.pad))
            self.written += n
            self.per_file[i] += n
            if self.per_file[i] >= a.rotate_every:
                self.rotations[i] += 1
                self.writers[i].rotate(self.paths[i].with_name(f"{self.paths[i].name}.{self.rotations[i]}"))
                self.per_file[i] = 0
        for w in self.writers:
            w.close()


def write_config(work: Path, args: argparse.Namespace) -> Path:
    config = work / "logproc.toml"
    config.write_text(f"""\
[daemon]
state_dir = "{work}/state"
metrics_address = ""
watch_config = false
queue_size = {args.queue_size}
checkpoint_interval = {args.checkpoint_interval}
shutdown_timeout = 60

[sources.app]
paths = ["{work}/logs/*.log"]

[sinks.out]
type = "file"
path = "{work}/out/all.log"
format = "raw"
""")
    return config


def per_run_duplicates(out: Path, edges: list[int], total: int) -> tuple[list[int], int, list[str]]:
    """Split the output at `edges`, the byte offsets where each run's output ends (0 first);
    for each kill, the lines the run after it delivered that an earlier run had delivered
    already. Also the duplicates in total, and a description of each run's duplicates."""
    seen = bytearray(total)
    per_kill: list[int] = []
    details: list[str] = []
    dups = 0
    with open(out, "rb") as f:
        data = f.read()
    for k in range(len(edges) - 1):
        run_dups = 0
        lo, hi = total, -1
        for m in SEQ.finditer(data, edges[k], edges[k + 1]):
            n = int(m.group(1))
            if 0 <= n < total:
                if seen[n]:
                    run_dups += 1
                    lo, hi = min(lo, n), max(hi, n)
                seen[n] = 1
        dups += run_dups
        if k > 0:
            per_kill.append(run_dups)  # run k started after kill k-1
            details.append(f"kill {k}: {run_dups} duplicates" + (f", seq {lo}..{hi}" if run_dups else ""))
    return per_kill, dups, details


def percentile(xs: list[int], q: float) -> int:
    if not xs:
        return 0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    os.environ["LOGPROC_CMD"] = args.logproc_cmd  # logproc.testing.Daemon runs this
    work = args.workdir or Path(tempfile.mkdtemp(prefix="logproc-soak-"))
    for sub in ("logs", "state", "out"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    config = write_config(work, args)
    out_path = work / "out" / "all.log"
    log_path = work / "logproc.log"
    print(f"crash soak: {args.lines} lines over {args.files} files, rotate every {args.rotate_every},"
          f" {args.kills} kills, seed {seed}, in {work}", flush=True)

    out = Output(out_path, args.lines, args.pad)
    writer = Writer(work / "logs", args, out)
    points = sorted(rng.randrange(1, args.lines) for _ in range(args.kills))
    bounds: list[int] = []  # output size when each killed run was dead
    behind_at_kill = 0
    restart_times: list[float] = []
    started = time.monotonic()

    # kill points are positions in the delivered stream. While logproc runs, the writer may
    # get `lead` lines ahead of the next point (and up to --max-backlog ahead of delivery);
    # while it is down, the writer waits. So kills fall while lines are being written and
    # delivered, however fast either side is.
    lead = max(2 * BLOCK, min(args.max_backlog, args.lines // max(1, 2 * args.kills)))
    daemon = Daemon(config, log_path=log_path)
    try:
        daemon.wait_started(60)
        for k, drawn in enumerate(points):
            point = min(args.lines, max(drawn, writer.written + 1))  # a run may have gone past it
            writer.gate = min(args.lines, point + lead)
            writer.paused = False
            if not writer.is_alive() and writer.error is None and writer.written < args.lines:
                writer.start()
            give_up = time.monotonic() + 60
            while out.poll() < point and time.monotonic() < give_up and daemon.proc.poll() is None:
                time.sleep(0.0002)
            time.sleep(rng.uniform(0, args.max_kill_delay))
            if daemon.proc.poll() is not None:
                raise SystemExit(f"logproc exited on its own with {daemon.proc.returncode}"
                                 f" before kill {k + 1}:\n{daemon.log()[-3000:]}")
            behind_at_kill += writer.written > out.distinct
            daemon.kill()
            writer.paused = True
            bounds.append(out_path.stat().st_size if out_path.exists() else 0)
            t = time.monotonic()
            daemon = Daemon(config, log_path=log_path)
            daemon.wait_started(60)
            restart_times.append(time.monotonic() - t)
            if (k + 1) % max(1, args.kills // 10) == 0:
                print(f"  kill {k + 1}/{args.kills}: written {writer.written}, delivered {out.distinct}",
                      flush=True)
        writer.gate = args.lines
        writer.paused = False
        if not writer.is_alive() and writer.written < args.lines:
            writer.start()
        writer.join()
        if writer.error is not None:
            raise writer.error
        deadline = time.monotonic() + 600
        while out.poll() < args.lines and time.monotonic() < deadline and daemon.proc.poll() is None:
            time.sleep(0.05)
        final_code = daemon.stop(120)
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()
    delivered_at_stop = out_path.stat().st_size if out_path.exists() else 0
    once = subprocess.run([*args.logproc_cmd.split(), "run", "--once", "-c", str(config)],
                          capture_output=True, timeout=600, check=False)
    with open(log_path, "ab") as f:
        f.write(once.stderr)
    once_added = (out_path.stat().st_size if out_path.exists() else 0) - delivered_at_stop
    wall = time.monotonic() - started

    out.poll()
    missing = args.lines - out.distinct
    size = out_path.stat().st_size if out_path.exists() else 0
    # runs: the first, one after each kill, then the `--once` check
    per_kill, dups, details = per_run_duplicates(out_path, [0, *bounds, delivered_at_stop, size], args.lines)
    per_kill, details = per_kill[:len(bounds)], details[:len(bounds)]
    log_text = log_path.read_text(errors="replace")
    read_failures = log_text.count(CORRUPT)
    avg_line = sum(len(numbered(n, 1, tag="f0", pad=args.pad)) for n in (0, args.lines - 1)) / 2
    # a sink write holds at most one batch (one read, <= CHUNK bytes) per stream, and the
    # write after it waits for its checkpoint commit: a kill re-sends at most that write.
    # Streams: one per file, two while a rotated file is still being finished.
    batch = int(CHUNK / avg_line)
    bound = 2 * args.files * batch
    first_missing = [n for n in range(args.lines) if not out.seen[n]][:10]

    print(f"lines written:            {writer.written}")
    print(f"lines delivered:          {out.lines} ({out.distinct} distinct, {out.unexpected} unexpected)")
    print(f"missing:                  {missing}" + (f"  e.g. {first_missing}" if missing else ""))
    print(f"malformed lines:          {len(out.malformed)}"
          + (f" (a kill tore a write and the next run appended to the partial line), e.g."
             f" {out.malformed[0][:60]!r}…{out.malformed[0][-40:]!r}" if out.malformed else ""))
    print(f"duplicates total:         {dups}")
    print(f"duplicates per kill:      p50 {percentile(per_kill, 0.5)}, p90 {percentile(per_kill, 0.9)},"
          f" max {max(per_kill, default=0)} over {len(per_kill)} kills")
    print(f"one-batch-per-file bound: {bound} lines (one {CHUNK // 1024} KiB read of ~{avg_line:.0f}-byte"
          f" lines = {batch} lines, for {args.files} files and their rotated predecessors);"
          f" kills over it: {sum(d > bound for d in per_kill)}")
    worst = sorted(range(len(per_kill)), key=lambda i: -per_kill[i])[:3]
    if per_kill and per_kill[worst[0]] > bound:
        print("worst kills:              " + "; ".join(details[i] for i in worst if per_kill[i] > bound))
    print(f"kills with lines pending: {behind_at_kill} of {len(points)}")
    print(f"checkpoint read failures: {read_failures}")
    print(f"final graceful stop:      exit {final_code}; a later run --once added {once_added} bytes"
          f" (exit {once.returncode})")
    print(f"restart time:             p50 {statistics.median(restart_times) if restart_times else 0:.2f}s,"
          f" max {max(restart_times, default=0):.2f}s")
    print(f"rotations:                {sum(writer.rotations)}")
    print(f"wall time:                {wall:.1f}s")
    failed = missing > 0 or read_failures > 0 or out.unexpected > 0
    if failed or args.keep:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
