"""A worker process: parses, filters and formats batches sent by the daemon over a pipe.

Started by :mod:`logproc.pipeline.offload.pool` as ``python -m logproc.pipeline.offload.worker`` with
stdin and stdout as pipes to the daemon (stderr inherited). It imports only the pipeline
modules (no config validation, no sinks, no daemon), so it starts in well under 100 ms.

Wire protocol (all integers little-endian; one request, then one reply, strictly alternating):

- first, the spec: ``<I`` length + JSON ``{"host": str, "sources": [{"name", "parse",
  "source": {...}, "sinks": [{...}, ...]}]}``: what the daemon's config says about each
  source's pipeline and its routes (see ``procpool.worker_spec``). A source's index in
  that list names it in requests.
- request: ``REQUEST`` (source index, line count, path length, parts length, lengths
  length, offsets length, ident length, blob length, read time), then the path (UTF-8),
  ``parts`` (``array('I')`` bytes, empty for None), line lengths (``array('Q')`` bytes,
  empty when the blob is the lines joined with ``\\n``: no line of the batch contains
  one), ``offsets`` (``array('Q')`` bytes, empty for None), the ident (ASCII), then the
  blob.
- reply: ``REPLY`` (status, parse errors, route count), then per route ``ROUTE`` (entries,
  dropped by min_level, dropped by filter, payload length) and the payload. Status 1 is a
  failure inside the pipeline (a bug): the route count is then the length of a UTF-8
  message that follows instead of routes.

End of input on stdin is the shutdown: the worker exits 0. It ignores SIGINT, SIGTERM,
SIGHUP and SIGUSR1 (a Ctrl-C or a signal to the process group is the daemon's to handle:
the daemon still needs its workers while it drains). So that no worker outlives a daemon
that died without closing it (SIGKILL, a crash), it asks the kernel for SIGKILL when its
parent goes (Linux ``PR_SET_PDEATHSIG``; elsewhere end of input remains the only way).
The kernel ties that to the *thread* that started the worker: consumer threads (which
restart dead workers) live until the pool is closed, so this never ends a worker in use.
"""

from __future__ import annotations

import ctypes
import os
import signal
import struct
import sys
import traceback
from array import array
from types import SimpleNamespace
from typing import IO, Any

REQUEST = struct.Struct("<IIIIIIIQd")
REPLY = struct.Struct("<BII")
ROUTE = struct.Struct("<IIIQ")
SPEC_LEN = struct.Struct("<I")


def build_fns(spec: dict[str, Any]) -> list[Any]:
    """One batch function per source of ``spec`` (the same builders the daemon uses)."""
    from logproc.pipeline.ids import route_spec
    from logproc.pipeline.stages import build_batch_fn
    from logproc.transforms import build_source_pipeline

    fns = []
    for src in spec["sources"]:
        sinks: list[Any] = [SimpleNamespace(**s) for s in src["sinks"]]  # the configs' plain values
        routes = [route_spec(s) for s in sinks]
        pipeline = (build_source_pipeline(src["name"], SimpleNamespace(**src["source"]), spec["host"],
                                          src["parser"])
                    if src["parse"] else None)
        fns.append(build_batch_fn(pipeline, routes, ids=src.get("ids")))
    return fns


def split_lines(blob: bytes, n: int, lens: bytes) -> list[bytes]:
    """The batch's lines from the blob: split on ``\\n``, or cut by the lengths sent."""
    if not lens:
        return blob.split(b"\n") if n else []
    out = []
    pos = 0
    for size in array("Q", lens):
        out.append(blob[pos:pos + size])
        pos += size
    return out


def serve(rf: IO[bytes], wf: IO[bytes]) -> int:
    """Answer requests until end of input; the exit code."""
    import orjson

    head = rf.read(SPEC_LEN.size)
    if len(head) < SPEC_LEN.size:
        return 0
    (size,) = SPEC_LEN.unpack(head)
    fns = build_fns(orjson.loads(rf.read(size)))
    read = rf.read
    while True:
        head = read(REQUEST.size)
        if len(head) < REQUEST.size:
            return 0  # the daemon closed the pipe: shutdown
        src, n, path_len, parts_len, lens_len, offs_len, ident_len, blob_len, read_time = REQUEST.unpack(head)
        path = read(path_len).decode("utf-8", "surrogateescape")
        parts = array("I", read(parts_len)).tolist() if parts_len else None
        lens = read(lens_len) if lens_len else b""
        offsets = array("Q", read(offs_len)).tolist() if offs_len else None
        ident = read(ident_len).decode("ascii") if ident_len else ""
        blob = read(blob_len)
        if len(blob) != blob_len:
            return 0
        try:
            errors, results = fns[src](split_lines(blob, n, lens), parts, path, read_time, offsets, ident)
        except Exception:
            message = traceback.format_exc().encode("utf-8", "replace")
            wf.write(REPLY.pack(1, 0, len(message)))
            wf.write(message)
            wf.flush()
            continue
        out = [REPLY.pack(0, errors, len(results))]
        for entries, n_level, n_filter, payload in results:
            out.append(ROUTE.pack(entries, n_level, n_filter, len(payload)))
            out.append(payload)
        for item in out:  # small headers are buffered, payloads go straight to the pipe
            wf.write(item)
        wf.flush()


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGKILL this process when its parent ends; exit now if it already has."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux: end of input on stdin still ends the worker
    if os.getppid() != parent:
        os._exit(0)  # the daemon went away before the request took effect (else: EOF on stdin)


def main() -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_IGN)
    die_with_parent()
    try:
        return serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        return 0  # the daemon went away mid-reply


if __name__ == "__main__":
    sys.exit(main())
