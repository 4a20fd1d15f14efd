"""Worker processes for parsing and formatting: a second core for one file's lines.

``[daemon] workers = N`` (N ≥ 1) starts N worker processes (:mod:`.worker`), each a
plain subprocess with two pipes, built from the loaded config (the spec it is sent holds
exactly what the pipeline builders read). Consumer threads call :meth:`WorkerPool.run`
instead of running the batch function themselves.

Contract:
- ``run`` returns exactly what the source's batch function (:mod:`.stages`) returns for the
  whole batch. A batch of at least ``2 * MIN_CHUNK`` lines is cut into up to N consecutive
  pieces, one per worker, processed at the same time and merged in order; so one file,
  whose batches are handed out one at a time by the queue, still uses every worker.
  Nothing else changes: the consumer thread keeps the batch, opens the ticket, submits to
  the sinks and releases the file in the queue exactly as without workers, so per-file
  order, ack-gated checkpoints and the memory bound are those of the queue.
- A worker that dies (EOF or a broken pipe) loses nothing: the batch was never
  acknowledged. Its piece is sent again to a fresh worker (logged as an error), up to
  ``MAX_TRIES`` times; past that ``WorkerFailed`` is raised and the consumer runs the batch
  itself.
- A failure inside a worker's pipeline (a bug) is raised as ``WorkerError`` in the calling
  thread, as the same failure would be in-thread.
- Lock order: a call that uses several workers takes their locks in index order; a call
  that uses one takes one lock. No cycle, so no deadlock between consumer threads.
- ``close`` ends the workers by closing their pipes (EOF is their shutdown) and reaps them;
  ``kill`` (a shutdown past its deadline) SIGKILLs and reaps them. After either, no worker
  is ever started again: a call in progress or a later one raises ``PoolClosed``, so a batch
  that cannot finish is never handed to a fresh worker at shutdown (it stays
  unacknowledged, read again after a restart), and no worker outlives the daemon.
- A worker also ends when the daemon dies without closing it (SIGKILL): it asks the
  kernel for SIGKILL when its parent goes (see :mod:`.worker`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import threading
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from logproc.log import get_logger
from logproc.pipeline.offload.worker import REPLY, REQUEST, ROUTE, SPEC_LEN
from logproc.pipeline.stages import BatchResult, RouteResult, merge
from logproc.sources.registry import kind_of as source_kind

if TYPE_CHECKING:
    from logproc.config.schema import Config

log = get_logger("workers")

MIN_CHUNK = 256  # lines: a smaller batch goes to one worker whole
MAX_TRIES = 3  # fresh workers a piece is sent to before the consumer takes it back
PIPE_SIZE = 1 << 20  # F_SETPIPE_SZ: fewer wake-ups per batch (best effort)
_F_SETPIPE_SZ = 1031

#: glibc malloc settings for workers (an operator's own MALLOC_* variables win): each batch
#: allocates buffers of a few hundred KiB; with the default dynamic thresholds they were
#: mmap'd and unmapped, or trimmed off the heap, per batch, and the page faults cost ~10 %
#: of the workers' CPU (docs/performance.md). The heap now keeps what a batch needed.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(16 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}  # = alloc.py

def _cut(values: list[int] | None, a: int, b: int) -> list[int] | None:
    return None if values is None else values[a:b]


class WorkerDied(Exception):
    """The worker process went away (EOF or broken pipe) during a call."""


class WorkerError(RuntimeError):
    """The pipeline failed inside the worker; the message is the worker's traceback."""


class WorkerFailed(RuntimeError):
    """A piece of a batch killed ``MAX_TRIES`` fresh workers in a row."""


class PoolClosed(WorkerFailed):
    """The pool was closed or killed (shutdown) during or before a call: no worker will run
    the batch, and the consumer must not run it either."""


def auto_workers(parses: bool, cpus: int | None = None) -> int:
    """The default for ``[daemon] workers``: 2 when the machine has at least 2 CPUs and
    some source is parsed, else 0 (raw pass-through gains nothing from a process hop)."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if parses and cpus >= 2 else 0


def worker_spec(config: Config, host: str, sources: Sequence[str], parses: dict[str, bool]) -> dict[str, Any]:
    """What the workers need of ``config``: per source (in ``sources`` order) the keys the
    pipeline builders read, and the routed sinks' filter and format keys in route order."""
    out = []
    for name in sources:
        src = config.sources[name]
        # the whole sink config: network sinks' encoders read more than format and filters
        sinks = [scfg.model_dump(mode="json") for scfg in config.sinks.values()
                 if scfg.inputs is None or name in scfg.inputs]
        kind = source_kind(src)
        out.append({"name": name, "parse": parses[name], "sinks": sinks, "parser": kind.parser(src),
                    "ids": kind.ids, "source": src.model_dump(mode="json")})
    return {"host": host, "sources": out}


class Worker:
    """One worker process and the lock that gives one thread at a time its pipes."""

    def __init__(self, index: int, spec: bytes, closed: threading.Event | None = None) -> None:
        self.index = index
        self.spec = spec
        self.closed = closed or threading.Event()  # the pool's: set, no process starts again
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.started = False

    def start(self) -> None:
        """Start the process and send it the spec. A failure to start is logged; the first
        call then finds the worker dead (see ``WorkerPool._call``). Nothing starts once the
        pool is closed."""
        self.started = True
        if self.closed.is_set():
            self.proc = None
            return
        try:
            proc = subprocess.Popen([sys.executable, "-m", "logproc.pipeline.offload.worker"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
                                    env={**MALLOC_ENV, **os.environ})
        except OSError as exc:
            log.error("cannot start a worker process", worker=self.index, error=str(exc))
            self.proc = None
            return
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[union-attr]
        self.proc = proc
        try:
            proc.stdin.write(SPEC_LEN.pack(len(self.spec)) + self.spec)  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            pass  # found dead at the first request, and restarted there

    def restart(self) -> None:
        self.stop(0.0)
        self.restarts += 1
        self.start()

    def stop(self, timeout: float) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    # -- one call, in two halves so that several workers run at once ----------------------
    def send(self, src: int, lines: list[bytes], parts: list[int] | None, path: str,
             read_time: float, offsets: list[int] | None = None, ident: str = "") -> None:
        blob = b"\n".join(lines)
        lens = b""
        if blob.count(b"\n") != len(lines) - 1:  # a joined multiline entry: send lengths
            blob = b"".join(lines)
            lens = array("Q", map(len, lines)).tobytes()
        raw_path = path.encode("utf-8", "surrogateescape")
        raw_parts = array("I", parts).tobytes() if parts is not None else b""
        raw_offs = array("Q", offsets).tobytes() if offsets is not None else b""
        raw_ident = ident.encode("ascii")
        head = REQUEST.pack(src, len(lines), len(raw_path), len(raw_parts), len(lens), len(raw_offs),
                            len(raw_ident), len(blob), read_time)
        proc = self.proc
        if proc is None:
            raise WorkerDied
        try:
            w = proc.stdin
            w.write(head + raw_path + raw_parts + lens + raw_offs + raw_ident)  # type: ignore[union-attr]
            w.write(blob)  # type: ignore[union-attr]
            w.flush()  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:  # EPIPE, or a pipe already closed
            raise WorkerDied from exc

    def receive(self) -> BatchResult:
        proc = self.proc
        if proc is None:
            raise WorkerDied
        read = proc.stdout.read  # type: ignore[union-attr]
        try:
            head = read(REPLY.size)
            if len(head) < REPLY.size:
                raise WorkerDied
            status, errors, count = REPLY.unpack(head)
            if status:
                raise WorkerError(read(count).decode("utf-8", "replace"))
            results: list[RouteResult] = []
            for _ in range(count):
                route = read(ROUTE.size)
                if len(route) < ROUTE.size:
                    raise WorkerDied
                entries, n_level, n_filter, size = ROUTE.unpack(route)
                payload = read(size) if size else b""
                if len(payload) != size:
                    raise WorkerDied
                results.append((entries, n_level, n_filter, payload))
        except (OSError, ValueError) as exc:
            raise WorkerDied from exc
        return errors, results


class WorkerPool:
    """N worker processes shared by the consumer threads."""

    def __init__(self, size: int, spec: dict[str, Any]) -> None:
        data = orjson.dumps(spec)
        self.sources = {s["name"]: i for i, s in enumerate(spec["sources"])}
        self.closed = threading.Event()
        self.workers = [Worker(i, data, self.closed) for i in range(size)]
        self._next = 0

    def start(self) -> None:
        for w in self.workers:
            w.start()

    def close(self, timeout: float = 5.0) -> None:
        """End every worker (EOF on its pipe) and reap it; kill one that lingers."""
        self.closed.set()
        for w in self.workers:
            with w.lock:
                w.stop(timeout)

    def kill(self, timeout: float = 1.0) -> None:
        """SIGKILL every worker and reap it, without waiting for the threads using them
        (shutdown past its deadline). A consumer still in a call sees the worker die and gets
        ``PoolClosed``; no worker is started again."""
        self.closed.set()
        for w in self.workers:
            proc = w.proc
            if proc is not None:
                with contextlib.suppress(OSError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout)

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers)

    def pids(self) -> list[int]:
        return [pid for w in self.workers if (pid := w.pid) is not None]

    def run(self, source: str, lines: list[bytes], parts: list[int] | None, path: str,
            read_time: float, offsets: list[int] | None = None, ident: str = "") -> BatchResult:
        """The batch function's result for ``lines`` of ``source`` (with its ``offsets`` and
        ``ident``, for the entries' ids), computed by the workers."""
        src = self.sources[source]
        n = len(lines)
        k = min(len(self.workers), n // MIN_CHUNK) or 1
        if k == 1:
            w = self._pick()
            try:
                return self._call(w, src, (lines, parts, offsets), path, read_time, ident, sent=False)
            finally:
                w.lock.release()
        bounds = [n * i // k for i in range(k + 1)]
        used = self.workers[:k]
        sent: list[bool] = []
        for i, w in enumerate(used):  # index order: see the module's lock contract
            w.lock.acquire()
            a, b = bounds[i], bounds[i + 1]
            try:
                w.send(src, lines[a:b], _cut(parts, a, b), path, read_time, _cut(offsets, a, b), ident)
                sent.append(True)
            except WorkerDied:
                sent.append(False)
        pieces: list[BatchResult] = []
        failure: BaseException | None = None
        for i, w in enumerate(used):
            a, b = bounds[i], bounds[i + 1]
            try:
                if failure is None:
                    piece = (lines[a:b], _cut(parts, a, b), _cut(offsets, a, b))
                    pieces.append(self._call(w, src, piece, path, read_time, ident, sent=sent[i]))
                elif sent[i]:
                    w.receive()  # keep the protocol in step before giving up
            except (WorkerError, WorkerFailed, WorkerDied) as exc:
                failure = failure or (PoolClosed("worker processes stopped (shutdown)")
                                      if self.closed.is_set() else exc)
            finally:
                w.lock.release()
        if failure is not None:
            raise failure
        return merge(pieces)

    def _pick(self) -> Worker:
        """A free worker (its lock taken), else wait for the next one in turn."""
        for w in self.workers:
            if w.lock.acquire(blocking=False):
                return w
        w = self.workers[self._next % len(self.workers)]
        self._next += 1
        w.lock.acquire()
        return w

    def _call(self, w: Worker, src: int, piece: tuple[list[bytes], list[int] | None, list[int] | None],
              path: str, read_time: float, ident: str, sent: bool) -> BatchResult:
        """Send (unless already sent) and receive one piece (lines, parts, offsets) on ``w``
        (lock held), replacing a dead worker and sending the piece again up to ``MAX_TRIES``
        times."""
        lines, parts, offsets = piece
        if w.proc is None and not w.started:
            w.start()  # a pool used before `start` (in-process users): start quietly
        tries = 0
        while True:
            try:
                if not sent:
                    w.send(src, lines, parts, path, read_time, offsets, ident)
                return w.receive()
            except WorkerDied:
                if self.closed.is_set():
                    raise PoolClosed("worker processes stopped (shutdown)") from None
                tries += 1
                code = None if w.proc is None else w.proc.poll()
                log.error("worker process died; restarting it and sending the batch again",
                          worker=w.index, pid=w.pid, exit_code=code, path=path, lines=len(lines),
                          attempt=tries)
                if tries >= MAX_TRIES:
                    w.restart()
                    raise WorkerFailed(f"worker {w.index} died {tries} times on one batch") from None
                w.restart()
                sent = False
