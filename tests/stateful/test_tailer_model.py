"""Model-based test of tailing and delivery (reliability research §3.3 and §3.5).

A hypothesis state machine runs random sequences of file operations and daemon faults
against logproc and checks what it delivers against a model of what was written:

- actions: write N numbered lines; write a partial line, then later its rest; rotate
  (rename to `NAME.log.K` in the same folder, a name the glob does not match, sometimes with
  late writes through the old descriptor, then create); copytruncate (copy to `NAME.log.K`,
  truncate); compress a rotated generation (gzip, xz, bzip2 or zstd into `NAME.log.K.gz`…,
  the plain file deleted, as logrotate's `compress` does), and delete an archive once its
  lines are delivered (logrotate's `rotate N`); truncate in place; delete; create a file (a
  new name or a deleted one's); a sink outage (the sink refuses to write while files are
  written, rotated, copied and compressed, then writes again); stop logproc gracefully or by
  a crash, and start it again; pause; wait for delivery.
- the model is exact: every complete line written arrives, byte for byte, and nothing
  else; no line arrives twice unless a crash happened after it was written. No line is
  ever excused. A fault whose outcome would otherwise depend on timing is preceded by a
  wait that settles it:
  - truncate in place while running: first wait until every line of the file is
    delivered; delete while running: first wait until logproc surely holds the file (one
    of its lines delivered), then write more lines and unlink: the rest must be read from
    the open file (and a stop first waits for that: a deleted file cannot be re-read);
  - rotate or copytruncate while running, when logproc may not have read the file's
    current content yet (new file, or new content since a truncation): first wait until
    one line of that content is delivered and the inode is in the checkpoint on disk; else
    nothing could tell the rotated file or the copy as the one it had (unread lines after
    that are fine: they must be found in the rotated file or the copy);
  - while logproc is stopped, a file is deleted or truncated in place only when all its
    lines were delivered, and rotated or copytruncated only when logproc had read its
    current content (or it is empty).

logproc runs in this process for speed (a `Supervisor` on a config with a raw file sink:
graceful stop = `shutdown()`, crash = `crash()`, which leaves on disk what a SIGKILL
would); a smaller run drives the real command the same way (SIGTERM and SIGKILL).

Environment: LOGPROC_MODEL_EXAMPLES (default 2000), LOGPROC_MODEL_STEPS (30),
LOGPROC_MODEL_RANDOM (set: new examples each run; unset: the same ones, as CI runs them),
LOGPROC_MODEL_PROCESS_EXAMPLES (10), LOGPROC_MODEL_WAIT (seconds a line may take, 5).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from logproc.config import load_text
from logproc.daemon.supervisor import Supervisor
from logproc.sources.file.compressed import zstd
from logproc.testing import Daemon, LogWriter, check_sequence, wait_for

# CI runs 2,000 examples of up to 30 steps (~4 min here): the size at which the last bugs
# were found (a duplicate at 3,000 of 35 steps); nightly-sized runs set more
EXAMPLES = int(os.environ.get("LOGPROC_MODEL_EXAMPLES", "2000"))
STEPS = int(os.environ.get("LOGPROC_MODEL_STEPS", "30"))
PROCESS_EXAMPLES = int(os.environ.get("LOGPROC_MODEL_PROCESS_EXAMPLES", "10"))
WAIT = float(os.environ.get("LOGPROC_MODEL_WAIT", "5"))
MAX_LIVE = 4  # files under the glob at once
LINE = re.compile(rb"seq=(\d+) ")
COMPRESS = {".gz": gzip.compress, ".xz": lzma.compress, ".bz2": bz2.compress, ".zst": zstd.compress}
EXERCISED: Counter[str] = Counter()  # steps run, by kind: the faults must really happen

CONFIG = """\
[daemon]
state_dir = "{dir}/state"
metrics_address = ""
watch_config = false
checkpoint_interval = 0.05
shutdown_timeout = 10
log_level = "info"

[sources.app]
paths = ["{dir}/logs/*.log"]

[sinks.out]
type = "file"
path = "{dir}/out/all.log"
format = "raw"
"""


def _thread_stacks() -> str:
    """Where logproc's threads are (in-process runs): what a timeout needs to be explained."""
    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        name = names.get(ident, "?")
        if name.startswith(("source-", "sink-", "consumer", "committer")):
            out.append(f"thread {name}:\n" + "".join(traceback.format_stack(frame)[-6:]))
    return "\n".join(out)


# -- two ways to run logproc ------------------------------------------------------------
def _signal_pipe(sup: Supervisor) -> list[tuple[int, int]]:
    fds = [getattr(sup.signals, name, None) for name in ("_r", "_w")]
    return [(fd, os.fstat(fd).st_ino) for fd in fds if isinstance(fd, int)]


class InProcess:
    """The supervisor in this process: stop = `shutdown()`, kill = `crash()`."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.gate = threading.Event()
        self.gate.set()
        self.sup: Supervisor | None = None
        self._pipe: list[tuple[int, int]] = []
        self.read_failures = 0

    @property
    def running(self) -> bool:
        return self.sup is not None

    def start(self) -> None:
        self.sup = Supervisor(load_text(self.config.read_text(), self.config))
        self._pipe = _signal_pipe(self.sup)
        sink = self.sup.topo.runners["out"].sink
        write, gate = sink.write, self.gate

        def gated(deliveries: list) -> None:  # a destination that stops answering
            gate.wait()
            write(deliveries)

        sink.write = gated  # type: ignore[method-assign]
        self.sup.start()
        self.read_failures += self.sup.topo.store.read_failures



    def stop(self) -> int:
        assert self.sup is not None
        code = self.sup.shutdown()
        self._reap()
        return code

    def kill(self) -> None:
        assert self.sup is not None
        self.sup.crash()
        self._reap()

    def _reap(self) -> None:
        """The supervisor is stopped: none of its threads may still run (a real process would
        not exit, or would write checkpoints after its successor started)."""
        sup, self.sup = self.sup, None
        assert sup is not None
        threads = [sup.committer.thread, *(c.thread for c in sup.consumers),
                   *(s.thread for s in sup.topo.sources.values()),
                   *(r.thread for r in sup.topo.runners.values())]
        deadline = time.monotonic() + 5
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        assert not alive, f"threads still running after the supervisor stopped: {alive}"
        # A stopped supervisor closes its signal self-pipe (hundreds of supervisors in one
        # process would otherwise hold hundreds of descriptors)
        for fd, ino in self._pipe:
            with contextlib.suppress(OSError):
                assert os.fstat(fd).st_ino != ino, "the stopped supervisor left its signal pipe open"

    def close(self) -> None:
        self.gate.set()
        if self.sup is not None:
            self.kill()


class Subprocess:
    """The real `logproc run`: stop = SIGTERM, kill = SIGKILL."""

    gate = None  # no outage seam in the real command

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "daemon.log"
        self.daemon: Daemon | None = None

    @property
    def running(self) -> bool:
        return self.daemon is not None

    @property
    def read_failures(self) -> int:
        return self.log.read_text(errors="replace").count("checkpoint file is corrupt")

    def start(self) -> None:
        self.daemon = Daemon(self.config, log_path=self.log)
        self.daemon.wait_started()

    def stop(self) -> int:
        d, self.daemon = self.daemon, None
        assert d is not None
        return d.stop()

    def kill(self) -> None:
        d, self.daemon = self.daemon, None
        assert d is not None
        assert d.kill() == -9

    def close(self) -> None:
        if self.daemon is not None:
            self.daemon.__exit__(None, None, None)
            self.daemon = None


# -- the model ---------------------------------------------------------------------------
@dataclass
class LogFile:
    """A file under the glob, as the model knows it."""

    name: str
    path: Path
    writer: LogWriter
    content_seqs: list[int] = field(default_factory=list)  # lines written since its content began
    unsettled: set[int] = field(default_factory=set)  # lines now in the file not known delivered
    partial: tuple[int, bytes] | None = None  # seq and the rest of a line written in part
    # logproc surely read the current content (since create, rotate or truncation) and has the
    # inode in its checkpoint on disk: it can find the content's rest after a rotation or copy
    seen: bool = False
    history: list[str] = field(default_factory=list)


class TailerModel(RuleBasedStateMachine):
    runner_class: type[InProcess] | type[Subprocess] = InProcess

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="logproc-model-"))
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.out = self.dir / "out" / "all.log"
        self.checkpoints = self.dir / "state" / "checkpoints.json"
        config = self.dir / "logproc.toml"
        config.write_text(CONFIG.format(dir=self.dir))
        self.runner = self.runner_class(config)
        self.files: dict[str, LogFile] = {}  # live files, in creation order
        self.deleted: list[str] = []  # names free for reuse
        self.suffixes: Counter[str] = Counter()
        self.next_file = 0
        self.next_seq = 0
        self.lines: dict[int, bytes] = {}  # seq -> the complete line written
        self.origin: dict[int, str] = {}  # seq -> where it was written (failure messages)
        self.undelivered: set[int] = set()
        self.crash_exposed: set[int] = set()  # lines written before the last crash: may repeat
        self.unlinked: set[int] = set()  # lines of files deleted while running, maybe not read yet
        # archives whose lines were all delivered at a settle: the model decides from this, not
        # from `undelivered` (timing), so that a replayed example takes the same steps
        self.settled_archives: set[Path] = set()
        self.counts: Counter[int] = Counter()
        self.out_pos = 0
        self.out_rest = b""
        self.problems: list[str] = []
        self.steps: list[str] = []  # what this example did so far, for failure messages
        self.rotated: dict[Path, set[int]] = {}  # plain rotated generations -> lines in them
        self.archives: dict[Path, set[int]] = {}  # compressed generations -> lines in them

    def _step(self, text: str) -> None:
        self.steps.append(f"{len(self.steps)}: {text}")
        kind = "partial" if "bytes of seq" in text else text.split(maxsplit=1)[0]
        EXERCISED[kind + (" (stopped)" if text.endswith("(stopped)") else "")] += 1

    def _fail(self, message: str) -> AssertionError:
        return AssertionError(f"{message}\nsteps so far:\n  " + "\n  ".join(self.steps[-40:])
                              + "\n" + self._evidence())

    def _evidence(self) -> str:
        """The files (inode, size) and the checkpoints on disk: enough to explain a failure."""
        files = []
        for p in sorted(self.logs.iterdir()):
            with contextlib.suppress(OSError):
                st_ = p.stat()
                files.append(f"{p.name}: ino {st_.st_ino}, {st_.st_size} bytes")
        try:
            doc = orjson.loads(self.checkpoints.read_bytes())
            recs = [f"ino {r['ino']} {os.path.basename(r['path'])} offset {r['offset']} fp_len {r['fp_len']}"
                    for r in doc["files"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            recs = [f"(unreadable: {exc})"]
        return ("files: " + "; ".join(files) + "\ncheckpoints: " + "; ".join(recs)
                + f"\noutput: {self.out_pos} bytes read")

    # -- writing -------------------------------------------------------------------------
    @staticmethod
    def _line(seq: int, f: LogFile) -> bytes:
        return f"seq={seq} {f.name} {'.' * (seq % 11)} end\n".encode()

    def _expect(self, seq: int, f: LogFile, where: str, current: bool = True) -> None:
        self.lines[seq] = self._line(seq, f)
        self.origin[seq] = where
        self.undelivered.add(seq)
        if current:
            f.unsettled.add(seq)
            f.content_seqs.append(seq)

    def _write(self, f: LogFile, n: int, current: bool = True, where: str | None = None) -> None:
        if not n:
            return
        where = where or f"{f.name} after [{', '.join(f.history[-3:]) or 'create'}]"
        seqs = range(self.next_seq, self.next_seq + n)
        self.next_seq += n
        for seq in seqs:
            self._expect(seq, f, where, current)
        f.writer.write(b"".join(self.lines[s] for s in seqs))

    def _finish_partial(self, f: LogFile) -> None:
        if f.partial is not None:
            seq, rest = f.partial
            f.partial = None
            f.writer.write(rest)
            self._expect(seq, f, f"{f.name} partial line after [{', '.join(f.history[-3:]) or 'create'}]")

    def _create(self, lines: int, reuse: bool = False) -> LogFile:
        reuse = reuse and bool(self.deleted)
        if reuse:
            name = self.deleted.pop(0)
        else:
            name = f"f{self.next_file}.log"
            self.next_file += 1
        path = self.logs / name
        f = LogFile(name, path, LogWriter(path))
        f.history.append("create" + (" (name reused)" if reuse else ""))
        self.files[name] = f
        self._write(f, lines)
        return f

    def _target(self, f: LogFile) -> Path:
        self.suffixes[f.name] += 1
        return self.logs / f"{f.name}.{self.suffixes[f.name]}"

    # -- observing delivery --------------------------------------------------------------
    def _poll(self) -> None:
        """Read what was delivered since the last poll (complete lines only)."""
        try:
            with open(self.out, "rb") as fh:
                fh.seek(self.out_pos)
                data = fh.read()
        except FileNotFoundError:
            return
        self.out_pos += len(data)
        data = self.out_rest + data
        cut = data.rfind(b"\n") + 1
        self.out_rest = data[cut:]
        for line in data[:cut].splitlines(keepends=True):
            m = LINE.match(line)
            seq = int(m.group(1)) if m else -1
            if self.lines.get(seq) != line:
                self.problems.append(f"delivered a line never written as such: {line!r}"
                                     + (f" (seq={seq}: {self.origin[seq]})" if seq in self.origin else ""))
                continue
            self.counts[seq] += 1
            if self.counts[seq] > 1 and seq not in self.crash_exposed:
                self.problems.append(f"seq={seq} ({self.origin[seq]}) delivered {self.counts[seq]} times,"
                                     f" with no crash since it was written (again during step {len(self.steps)})")
            self.undelivered.discard(seq)

    def _describe(self, seqs: set[int]) -> str:
        shown = sorted(seqs)[:12]
        by_origin: dict[str, list[int]] = {}
        for s in shown:
            by_origin.setdefault(self.origin[s], []).append(s)
        more = f" and {len(seqs) - len(shown)} more" if len(seqs) > len(shown) else ""
        return "; ".join(f"{o}: {ss}" for o, ss in by_origin.items()) + more

    def _wait(self, done: Callable[[], bool], what: str, missing: Callable[[], set[int]]) -> None:
        def ready() -> bool:
            self._poll()
            return bool(self.problems) or done()

        try:
            wait_for(ready, WAIT, 0.005, what=what)
        except AssertionError:
            raise self._fail(f"timed out after {WAIT}s waiting for {what}; "
                             f"undelivered: {self._describe(missing())}\n{_thread_stacks()}") from None
        self._check_problems()

    def _check_problems(self) -> None:
        if self.problems:
            raise self._fail("\n".join(self.problems[:20]))

    def _settle_all(self, what: str = "every line written so far to be delivered") -> None:
        self._wait(lambda: not self.undelivered, what, lambda: self.undelivered)
        for f in self.files.values():
            f.unsettled.clear()
        self.settled_archives |= set(self.archives)

    def _settle_file(self, f: LogFile) -> None:
        self._wait(lambda: not (f.unsettled & self.undelivered), f"every line of {f.name} to be delivered",
                   lambda: f.unsettled & self.undelivered)
        f.unsettled.clear()

    def _checkpointed(self, st_: os.stat_result) -> bool:
        try:
            doc = orjson.loads(self.checkpoints.read_bytes())
        except (OSError, ValueError):
            return False
        return any(isinstance(r, dict) and r.get("dev") == st_.st_dev and r.get("ino") == st_.st_ino
                   for r in doc.get("files", []))

    def _ensure_seen(self, f: LogFile) -> None:
        """Make sure logproc read the file's current content (one line of it delivered: its
        fingerprint is then unique) and has its inode in the checkpoint on disk."""
        if f.seen:
            return
        self._finish_partial(f)
        if not f.content_seqs:
            self._write(f, 1)
        st_ = os.stat(f.path)
        self._wait(lambda: any(s not in self.undelivered for s in f.content_seqs) and self._checkpointed(st_),
                   f"a line of {f.name}'s current content delivered and its checkpoint on disk",
                   lambda: set(f.content_seqs) & self.undelivered)
        f.seen = True

    @staticmethod
    def _new_content(f: LogFile) -> None:
        f.content_seqs, f.unsettled, f.seen = [], set(), False

    # -- which file a rule acts on -------------------------------------------------------
    def _choose(self, i: int, ok: Callable[[LogFile], bool]) -> LogFile:
        candidates = [f for f in self.files.values() if ok(f)]
        return candidates[i % len(candidates)]

    def _any(self, ok: Callable[[LogFile], bool]) -> bool:
        return any(ok(f) for f in self.files.values())

    def _known(self, f: LogFile) -> bool:
        """Rotating or copying it loses nothing: logproc follows it, its checkpoint knows its
        content, or it is empty."""
        return (self.runner.running or f.seen
                or (f.partial is None and f.path.stat().st_size == 0))

    def _settled(self, f: LogFile) -> bool:
        """Deleting or truncating it loses nothing (logproc running waits first)."""
        return self.runner.running or (not f.unsettled and f.partial is None)

    # -- rules ---------------------------------------------------------------------------
    @initialize(start=st.booleans(), files=st.integers(0, 2), lines=st.integers(0, 5))
    def init(self, start: bool, files: int, lines: int) -> None:
        self._step(f"init: {files} files of {lines} lines, then {'start' if start else 'stay stopped'}")
        for _ in range(files):
            self._create(lines)
        if start:
            self.runner.start()

    @precondition(lambda self: len(self.files) < MAX_LIVE)
    @rule(lines=st.integers(0, 5), reuse=st.booleans())
    def create_file(self, lines: int, reuse: bool) -> None:
        f = self._create(lines, reuse)
        self._step(f"create {f.name} with {lines} lines" + (" (name reused)" if "reused" in f.history[-1] else ""))

    @precondition(lambda self: self.files)
    @rule(i=st.integers(0, 7), n=st.integers(1, 20))
    def write_lines(self, i: int, n: int) -> None:
        f = self._choose(i, lambda f: True)
        self._step(f"write {n} lines to {f.name} (from seq={self.next_seq})")
        self._finish_partial(f)
        self._write(f, n)

    @precondition(lambda self: self.files)
    @rule(i=st.integers(0, 7), n=st.integers(0, 3), cut=st.integers(0, 99))
    def write_partial(self, i: int, n: int, cut: int) -> None:
        f = self._choose(i, lambda f: True)
        self._finish_partial(f)
        self._write(f, n)
        seq = self.next_seq
        self.next_seq += 1
        line = self._line(seq, f)
        k = 1 + cut % (len(line) - 1)  # at least one byte in each part; the newline in the rest
        f.writer.write(line[:k])
        f.partial = (seq, line[k:])
        self._step(f"write {n} lines then {k} bytes of seq={seq} to {f.name}")

    @precondition(lambda self: self._any(lambda f: f.partial is not None))
    @rule(i=st.integers(0, 7))
    def finish_partial(self, i: int) -> None:
        f = self._choose(i, lambda f: f.partial is not None)
        self._step(f"finish the partial line of {f.name}")
        self._finish_partial(f)

    @precondition(lambda self: self._any(self._known))
    @rule(i=st.integers(0, 7), late=st.integers(0, 3))
    def rotate(self, i: int, late: int) -> None:
        """rename+create; `late` lines go through the old descriptor after the rename."""
        f = self._choose(i, self._known)
        if self.runner.running:
            self._ensure_seen(f)
        self._finish_partial(f)
        target = self._target(f)
        os.rename(f.path, target)
        self.rotated[target] = set(f.content_seqs)
        if f.seen:
            before = self.next_seq
            self._write(f, late, current=False, where=f"late write to {target.name}")
            self.rotated[target] |= set(range(before, self.next_seq))
        f.writer.close()
        f.writer = LogWriter(f.path)
        self._step(f"rotate {f.name} to {target.name} with {late if f.seen else 0} late lines"
                   + ("" if self.runner.running else " (stopped)"))
        f.history.append(f"rotate to {target.name}" + (" while stopped" if not self.runner.running else ""))
        self._new_content(f)

    @precondition(lambda self: self._any(self._known))
    @rule(i=st.integers(0, 7))
    def copytruncate(self, i: int) -> None:
        f = self._choose(i, self._known)
        if self.runner.running:
            self._ensure_seen(f)
        self._finish_partial(f)
        target = self._target(f)
        f.writer.copytruncate(target)
        self.rotated[target] = set(f.content_seqs)
        self._step(f"copytruncate {f.name} to {target.name}" + ("" if self.runner.running else " (stopped)"))
        f.history.append(f"copytruncate to {target.name}" + (" while stopped" if not self.runner.running else ""))
        self._new_content(f)  # what it held is in the copy now

    @precondition(lambda self: self._any(self._settled))
    @rule(i=st.integers(0, 7))
    def truncate(self, i: int) -> None:
        """Truncate in place (`: > file`); running: once its lines are delivered."""
        f = self._choose(i, self._settled)
        if self.runner.running:
            self._finish_partial(f)
            self._settle_file(f)
        os.truncate(f.path, 0)
        self._step(f"truncate {f.name}" + ("" if self.runner.running else " (stopped)"))
        f.history.append("truncate" + (" while stopped" if not self.runner.running else ""))
        self._new_content(f)

    @precondition(lambda self: self._any(self._settled))
    @rule(i=st.integers(0, 7), n=st.integers(0, 5))
    def delete(self, i: int, n: int) -> None:
        """Unlink; running: once logproc holds it, after `n` more lines it must read from the
        open file."""
        f = self._choose(i, self._settled)
        if self.runner.running:
            self._ensure_seen(f)
            self._finish_partial(f)
            self._write(f, n, where=f"{f.name} written just before its deletion")
            self.unlinked |= f.unsettled
        os.unlink(f.path)
        self._step(f"delete {f.name}" + (f" after {n} more lines" if self.runner.running else " (stopped)"))
        f.writer.close()
        del self.files[f.name]
        self.deleted.append(f.name)

    @precondition(lambda self: self.rotated)
    @rule(i=st.integers(0, 7), suffix=st.sampled_from(sorted(COMPRESS)))
    def compress(self, i: int, suffix: str) -> None:
        """logrotate's `compress`: a rotated generation becomes an archive, the plain file is
        deleted. Its unread lines are read from logproc's open descriptor, or from the
        archive, from the checkpoint's offset (stopped), or whole (a generation never seen)."""
        target = sorted(self.rotated)[i % len(self.rotated)]
        seqs = self.rotated.pop(target)
        archive = target.with_name(target.name + suffix)
        data = COMPRESS[suffix](target.read_bytes())
        tmp = archive.with_name(archive.name + ".tmp~")  # written aside, renamed: a whole archive
        tmp.write_bytes(data)
        os.rename(tmp, archive)
        os.unlink(target)
        self.archives[archive] = seqs
        self.settled_archives.discard(archive)
        self._step(f"compress {target.name} to {archive.name}" + ("" if self.runner.running else " (stopped)"))

    @precondition(lambda self: self.archives)
    @rule(i=st.integers(0, 7))
    def delete_archive(self, i: int) -> None:
        """logrotate's `rotate N`: the oldest archive goes, once its lines are delivered."""
        archive = sorted(self.archives)[i % len(self.archives)]
        seqs = self.archives.pop(archive)
        if not self.runner.running and archive not in self.settled_archives:
            self.archives[archive] = seqs  # it might lose lines: keep it for now
            return
        if seqs & self.undelivered:
            self._wait(lambda: not (seqs & self.undelivered), f"the lines of {archive.name}",
                       lambda: seqs & self.undelivered)
        os.unlink(archive)
        self.settled_archives.discard(archive)
        self._step(f"delete archive {archive.name}")

    @precondition(lambda self: self.runner.running and self.runner.gate is not None and self.files)
    @rule(ops=st.lists(st.tuples(st.sampled_from(["write", "rotate", "copytruncate", "compress", "partial"]),
                                 st.integers(0, 7), st.integers(1, 30)), min_size=1, max_size=6),
          ms=st.integers(0, 30))
    def outage(self, ops: list[tuple[str, int, int]], ms: int) -> None:
        """The sink stops writing (the queue fills, reading waits) while files are written,
        rotated, copied and compressed; then it writes again. Rotations and copies of files
        whose current content logproc has surely seen only (no wait for delivery here)."""
        gate = self.runner.gate
        assert gate is not None
        gate.clear()
        self._step(f"outage begins ({len(ops)} operations, then {ms} ms)")
        try:
            for kind, i, n in ops:
                f = list(self.files.values())[i % len(self.files)]
                if kind == "write":
                    self._finish_partial(f)
                    self._write(f, n)
                    self._step(f"  write {n} lines to {f.name} (outage)")
                elif kind == "partial":
                    self.write_partial(i, n % 4, n)
                elif kind == "compress" and self.rotated:
                    self.compress(i, sorted(COMPRESS)[n % len(COMPRESS)])
                elif kind in ("rotate", "copytruncate") and f.seen:
                    getattr(self, kind)(list(self.files).index(f), *([n % 4] if kind == "rotate" else []))
            time.sleep(ms / 1000)
        finally:
            gate.set()
            self._step("outage ends")

    @precondition(lambda self: self.runner.running)
    @rule(crash=st.booleans(), settle=st.booleans())
    def stop(self, crash: bool, settle: bool) -> None:
        self._step(("crash" if crash else "graceful stop") + (" once all is delivered" if settle else ""))
        if settle:
            self._settle_all()
        # a deleted file cannot be read after a restart: its rest must be read before the stop
        self._wait(lambda: not (self.unlinked & self.undelivered), "the rest of deleted files before a stop",
                   lambda: self.unlinked & self.undelivered)
        self.unlinked.clear()
        if crash:
            self.crash_exposed = set(self.lines)
            self.runner.kill()
        else:
            code = self.runner.stop()
            assert code == 0, f"graceful stop exited {code}"
        for f in self.files.values():
            f.history.append("crash" if crash else "stop")

    @precondition(lambda self: self.runner.running)
    @rule(crash=st.booleans())
    def restart(self, crash: bool) -> None:
        """Stop and start again at once (SIGKILL, or SIGTERM, then a new process)."""
        self.stop(crash, settle=False)
        self.start()

    @precondition(lambda self: not self.runner.running)
    @rule()
    def start(self) -> None:
        self._step("start")
        self.runner.start()
        for f in self.files.values():
            f.history.append("start")

    @precondition(lambda self: self.runner.running)
    @rule(ms=st.integers(0, 20))
    def pause(self, ms: int) -> None:
        self._step(f"pause {ms} ms")
        time.sleep(ms / 1000)

    @precondition(lambda self: self.runner.running)
    @rule()
    def settle(self) -> None:
        self._step("wait until all is delivered")
        self._settle_all()

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def delivered_only_written_lines_no_undue_duplicates(self) -> None:
        self._poll()
        self._check_problems()

    def teardown(self) -> None:
        failed = sys.exc_info()[1] is not None  # a step failed: report that, just clean up
        try:
            if not failed:
                self._final_check()
        finally:
            self.runner.close()
            for f in self.files.values():
                with contextlib.suppress(OSError):
                    f.writer.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _final_check(self) -> None:
        for f in self.files.values():
            self._finish_partial(f)
        if not self.runner.running:
            self.runner.start()
        self._settle_all("every line to be delivered at the end")
        code = self.runner.stop()
        assert code == 0, f"graceful stop exited {code}"
        self._poll()
        self._check_problems()
        data = self.out.read_bytes() if self.out.exists() else b""
        report = check_sequence(data, set(self.lines), allow_dups=len(data) if self.crash_exposed else 0)
        assert not report.missing
        assert self.runner.read_failures == 0, "a checkpoint file was found corrupt"


class ProcessModel(TailerModel):
    runner_class = Subprocess


def _settings(examples: int, steps: int) -> settings:
    # shrinking a failure takes minutes: opt in with LOGPROC_MODEL_SHRINK=1 when debugging
    phases = list(Phase) if os.environ.get("LOGPROC_MODEL_SHRINK") else [Phase.generate]
    # CI runs the same examples every time (a red CI names a regression, not a new find);
    # LOGPROC_MODEL_RANDOM=1 explores new ones (the long runs the note reports)
    fixed = not os.environ.get("LOGPROC_MODEL_RANDOM")
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow], phases=phases, derandomize=fixed)


@pytest.mark.timeout(900)  # ~4 min when it passes (2,000 examples)
def test_tailer_model_in_process() -> None:
    EXERCISED.clear()
    run_state_machine_as_test(TailerModel, settings=_settings(EXAMPLES, STEPS))
    faults = {"rotate", "copytruncate", "truncate", "delete", "compress"}
    wanted = faults | {f"{f} (stopped)" for f in faults} | {"crash", "graceful", "partial", "finish", "create",
                                                           "outage"}
    assert wanted <= EXERCISED.keys(), f"never exercised: {wanted - EXERCISED.keys()}"


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_tailer_model_real_command_with_sigkill() -> None:
    EXERCISED.clear()
    run_state_machine_as_test(ProcessModel, settings=_settings(PROCESS_EXAMPLES, 20))
    assert EXERCISED["crash"] and EXERCISED["graceful"], dict(EXERCISED)


def _replay(steps: Callable[[TailerModel], None], times: int) -> None:
    """Run a fixed sequence of the model's steps `times` times (each a fresh folder and
    daemon): the sequences below failed before their fixes, some only now and then."""
    for _ in range(times):
        model = TailerModel()
        try:
            steps(model)
            model.settle()
            model.delivered_only_written_lines_no_undue_duplicates()
            model._final_check()
        finally:
            model.runner.close()
            shutil.rmtree(model.dir, ignore_errors=True)


@pytest.mark.timeout(120)
def test_copytruncate_after_three_rotations_and_a_partial_line() -> None:
    """The sequence of the report (a duplicate with no crash, at 3,000 examples): copytruncate
    to .1; rotations to .2, .3, .4 (the last with no late line); two lines and 13 bytes of a
    third to the new file; later the rest and more; copytruncate to .5."""

    def steps(m: TailerModel) -> None:
        m.init(start=True, files=1, lines=3)
        m.copytruncate(i=0)
        m.write_lines(i=0, n=4)
        m.rotate(i=0, late=1)
        m.write_lines(i=0, n=3)
        m.rotate(i=0, late=2)
        m.write_lines(i=0, n=2)
        m.rotate(i=0, late=0)
        m.write_partial(i=0, n=2, cut=12)
        m.pause(ms=10)
        m.write_lines(i=0, n=5)
        m.copytruncate(i=0)

    _replay(steps, 5)


@pytest.mark.timeout(120)
def test_archive_of_a_generation_whose_inode_a_copy_took() -> None:
    """A rotated generation is compressed and its plain file deleted; a copytruncate copy of
    another generation takes the freed inode: the generation's checkpoint must survive (set
    aside) so its archive continues it instead of being read again (1 run in 3 before)."""

    def steps(m: TailerModel) -> None:
        def f(name: str, ok: Callable[[LogFile], bool] = lambda _f: True) -> int:
            return [x.name for x in m.files.values() if ok(x)].index(name)

        def rotated(name: str) -> int:
            return sorted(m.rotated).index(m.logs / name)

        m.init(start=False, files=2, lines=1)
        m.start()
        m.create_file(lines=4, reuse=False)
        m.write_partial(i=f("f1.log"), n=3, cut=15)
        m.copytruncate(i=f("f2.log", m._known))
        m.write_partial(i=f("f0.log"), n=3, cut=12)
        m.rotate(i=f("f0.log", m._known), late=0)
        m.write_lines(i=f("f0.log"), n=8)
        m.finish_partial(i=f("f1.log", lambda x: x.partial is not None))
        m.compress(i=rotated("f0.log.1"), suffix=".zst")
        m.rotate(i=f("f1.log", m._known), late=0)
        m.rotate(i=f("f1.log", m._known), late=3)
        m.create_file(lines=0, reuse=False)
        m.delete_archive(i=sorted(m.archives).index(m.logs / "f0.log.1.zst"))
        m.write_partial(i=f("f2.log"), n=1, cut=12)
        m.finish_partial(i=f("f2.log", lambda x: x.partial is not None))
        m.write_partial(i=f("f0.log"), n=0, cut=4)
        m.write_lines(i=f("f3.log"), n=15)
        m.write_partial(i=f("f3.log"), n=0, cut=10)
        m.write_partial(i=f("f1.log"), n=0, cut=18)
        m.write_partial(i=f("f3.log"), n=3, cut=6)
        m.rotate(i=f("f0.log", m._known), late=3)
        m.write_partial(i=f("f1.log"), n=0, cut=15)
        m.compress(i=rotated("f0.log.2"), suffix=".zst")
        m.copytruncate(i=f("f0.log", m._known))
        m.write_lines(i=f("f2.log"), n=14)
        m.finish_partial(i=f("f3.log", lambda x: x.partial is not None))
        m.rotate(i=f("f2.log", m._known), late=0)

    _replay(steps, 6)


@pytest.mark.timeout(120)
def test_a_copy_that_takes_the_previous_copys_inode_is_not_read_again() -> None:
    """copytruncate makes each copy anew; the next one often gets the inode the previous copy
    (compressed, then deleted) freed. That copy starts like the file it copies and must be
    recognised as a copy in the making, not read from its start as a new file because its
    inode had a checkpoint (1 run in 40 before)."""

    def steps(m: TailerModel) -> None:
        m.init(files=1, start=True, lines=2)
        m.outage(ms=16, ops=[('write', 1, 13), ('partial', 0, 15)])
        m.outage(ms=19, ops=[('write', 0, 19), ('rotate', 5, 1), ('compress', 0, 6)])
        m.pause(ms=1)
        m.settle()
        m.outage(ms=2, ops=[('copytruncate', 7, 11)])
        m.truncate(i=7)
        m.copytruncate(i=2)
        m.truncate(i=5)
        m.truncate(i=6)
        m.truncate(i=7)
        m.settle()
        m.compress(i=4, suffix='.bz2')
        m.delete_archive(i=7)
        m.copytruncate(i=4)
        m.outage(ms=7, ops=[('compress', 1, 4), ('write', 1, 11), ('copytruncate', 0, 24)])
        m.truncate(i=2)

    _replay(steps, 10)


@pytest.mark.timeout(120)
def test_a_stop_while_a_copy_compressed_at_once_is_read() -> None:
    """copytruncate + compress while running: the file's reading goes on in the archive; a
    stop before the archive is done, then a start: the archive (outside the globs, its sizes
    compressed ones) is found where the checkpoint says and finished, the last line included
    (3 runs in 4 lost it before: the archive was taken for one read to its end)."""

    def steps(m: TailerModel) -> None:
        m.init(files=2, lines=0, start=True)
        m.restart(crash=False)
        m.write_partial(cut=57, i=5, n=2)
        m.create_file(lines=4, reuse=True)
        m.finish_partial(i=7)
        m.write_partial(cut=65, i=6, n=3)
        m.copytruncate(i=3)
        m.copytruncate(i=1)
        m.outage(ms=2, ops=[('partial', 5, 4), ('rotate', 7, 25)])
        m.settle()
        m.stop(crash=False, settle=True)
        m.truncate(i=0)
        m.write_lines(i=4, n=1)
        m.write_partial(cut=48, i=3, n=2)
        m.compress(i=1, suffix='.gz')
        m.write_partial(cut=86, i=5, n=0)
        m.finish_partial(i=0)
        m.compress(i=5, suffix='.zst')
        m.delete_archive(i=7)
        m.finish_partial(i=3)
        m.delete_archive(i=6)
        m.write_partial(cut=19, i=7, n=3)
        m.write_partial(cut=95, i=2, n=2)
        m.start()
        m.truncate(i=7)
        m.copytruncate(i=5)
        m.compress(i=1, suffix='.zst')
        m.restart(crash=False)
        m.write_partial(cut=10, i=6, n=3)
        m.settle()

    _replay(steps, 4)


@pytest.mark.timeout(120)
def test_generations_compressed_while_stopped_after_a_crash() -> None:
    """Rotated (with a late line) and copytruncated, then a crash; both generations are
    compressed while stopped, the second archive taking the inode the first generation's
    plain file freed: after the start the first generation's checkpoint, set aside, is
    continued from its archive and its late line is delivered (9 runs in 10 lost it)."""

    def steps(m: TailerModel) -> None:
        m.init(start=False, files=2, lines=3)
        m.write_partial(cut=56, i=6, n=3)
        m.finish_partial(i=0)
        m.start()
        m.rotate(i=5, late=1)
        m.copytruncate(i=2)
        m.stop(crash=True, settle=False)
        m.compress(i=5, suffix='.bz2')
        m.compress(i=1, suffix='.gz')
        m.start()
        m.settle()

    _replay(steps, 4)


@pytest.mark.timeout(120)
def test_a_copys_inode_taken_by_an_archive_during_an_outage() -> None:
    """The sequence of the report (a duplicate with no crash, about one run in four; found at
    3,000 random examples): f1.log copytruncated to f1.log.1, read to its end; during a sink
    outage f1.log.1 is compressed (its tailer released, its last batches unacknowledged) and
    another generation's archive takes its inode. The displaced checkpoint continued in
    f1.log.1.xz from the acknowledged offset, not from where the released tailer had handed
    lines out: those lines were delivered twice."""

    def steps(m: TailerModel) -> None:
        check = m.delivered_only_written_lines_no_undue_duplicates
        for step in (
            lambda: m.init(lines=3, files=0, start=True),
            lambda: m.create_file(lines=0, reuse=False),
            lambda: m.truncate(i=4),
            lambda: m.create_file(lines=5, reuse=True),
            lambda: m.write_lines(i=4, n=3),
            lambda: m.rotate(i=2, late=0),
            lambda: m.truncate(i=4),
            lambda: m.create_file(lines=1, reuse=True),
            lambda: m.restart(crash=False),
            lambda: m.stop(crash=False, settle=False),
            lambda: m.rotate(i=0, late=1),
            lambda: m.copytruncate(i=0),
            lambda: m.compress(i=0, suffix=".bz2"),
            lambda: m.truncate(i=4),
            lambda: m.delete(i=5, n=3),
            lambda: m.delete_archive(i=4),
            lambda: m.write_partial(cut=1, i=2, n=2),
            lambda: m.write_partial(cut=15, i=3, n=2),
            lambda: m.delete_archive(i=7),
            m.start,
            lambda: m.delete_archive(i=3),
            lambda: m.copytruncate(i=6),
            lambda: m.create_file(lines=5, reuse=True),
            lambda: m.outage(ms=25, ops=[("compress", 5, 6), ("partial", 0, 20), ("rotate", 0, 25),
                                         ("rotate", 7, 3), ("copytruncate", 3, 20), ("compress", 7, 8)]),
            lambda: m.finish_partial(i=4),
            lambda: m.create_file(lines=0, reuse=False),
            lambda: m.pause(ms=18),
        ):
            step()
            check()

    _replay(steps, 16)


@pytest.mark.timeout(120)
def test_a_gone_checkpoint_of_an_empty_file_does_not_claim_a_copy_that_took_its_inode() -> None:
    """The sequence of the report (a duplicate with no crash, about one run in three; found
    by the fixed examples in CI): f0.log truncated to nothing, then deleted while stopped,
    its checkpoint (no fingerprint: the file was empty) kept as gone; after the restart a
    copytruncate copy of f2.log took its inode. A checkpoint that knows no content matched
    the copy, which was read from its start: lines already delivered from f2.log came twice."""

    def steps(m: TailerModel) -> None:
        check = m.delivered_only_written_lines_no_undue_duplicates
        for step in (
            lambda: m.init(start=True, files=2, lines=3),
            lambda: m.pause(ms=7),
            lambda: m.stop(crash=True, settle=True),
            m.start,
            lambda: m.pause(ms=11),
            lambda: m.copytruncate(i=2),
            lambda: m.outage(ms=18, ops=[('copytruncate', 0, 21),('write', 3, 21),('compress', 5, 12),('copytruncate', 7, 4)]),
            lambda: m.truncate(i=6),
            lambda: m.stop(crash=True, settle=False),
            lambda: m.write_partial(cut=79, i=6, n=3),
            m.start,
            lambda: m.truncate(i=0),
            lambda: m.delete(i=3, n=4),
            lambda: m.create_file(lines=0, reuse=False),
            lambda: m.stop(crash=True, settle=True),
            lambda: m.truncate(i=0),
            lambda: m.create_file(lines=0, reuse=False),
            lambda: m.write_partial(cut=75, i=4, n=0),
            lambda: m.create_file(lines=3, reuse=False),
            lambda: m.delete(i=2, n=0),
            lambda: m.write_partial(cut=27, i=4, n=0),
            m.start,
            lambda: m.copytruncate(i=0),
            lambda: m.outage(ms=10, ops=[('copytruncate', 3, 14),('copytruncate', 5, 28),('compress', 2, 17),('copytruncate', 4, 14),('compress', 0, 4),('rotate', 4, 12)]),
            lambda: m.copytruncate(i=2),
        ):
            step()
            check()

    _replay(steps, 12)


@pytest.mark.timeout(120)
def test_a_deleted_files_checkpoint_does_not_claim_the_copy_that_took_its_inode() -> None:
    """The sequence of the report (a duplicate with no crash, found by the fixed examples
    in CI; about one run in twenty on replay with the CPUs busy): f0.log deleted, a
    copytruncate copy of f1.log took its inode, logproc stopped, f1.log rotated. At the
    restart f0.log's checkpoint (marked gone) found the copy by inode and read it from the
    start, before f1.log's checkpoint could claim it as its copy."""

    def steps(m: TailerModel) -> None:
        check = m.delivered_only_written_lines_no_undue_duplicates
        for step in (
            lambda: m.init(start=True, lines=1, files=2),
            lambda: m.restart(crash=False),
            lambda: m.truncate(i=6),
            lambda: m.copytruncate(i=3),
            lambda: m.truncate(i=5),
            lambda: m.delete(i=2, n=1),
            lambda: m.pause(ms=14),
            lambda: m.copytruncate(i=1),
            lambda: m.stop(crash=False, settle=False),
            lambda: m.rotate(i=3, late=3),
            lambda: m.write_lines(i=2, n=5),
            m.start,
            lambda: m.delete(i=2, n=1),
        ):
            step()
            check()

    _replay(steps, 20)
