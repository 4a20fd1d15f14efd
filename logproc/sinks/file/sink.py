"""The `file` sink: appends formatted lines to a file, one path per source with `{source}`.

Contract:
- a write is acknowledged once `os.write` returned for every byte (the data is in the
  kernel: it survives a crash of logproc, not of the machine) — and after an `fsync` too
  when `fsync = true`;
- `{source}` renders the source name; the rendered path must stay inside the sink's folder
  (the part of `path` before the first `{`): a path that would escape is refused, never
  opened. Files are opened `O_APPEND | O_NOFOLLOW`, created 0640 with their folders;
- `reopen()` (SIGUSR1) closes every open file; the next write creates the file at the
  configured path again, so logrotate can move the old one away. Reopen also opens the
  non-templated path at once, so the file exists right after the signal;
- every format ends each entry with a newline, so an existing file that does not end with
  one holds the start of a write torn by a crash (a SIGKILL can stop `write` part-way).
  Those bytes were never acknowledged and will be written again whole, so opening cuts
  them off (logged) instead of appending to a broken line.
"""

from __future__ import annotations

import os
from collections import defaultdict

from logproc.errors import FatalSinkError
from logproc.log import get_logger
from logproc.sinks.base import Delivery, Sink

log = get_logger("sink")
TAIL_CHUNK = 65536


class FileSink(Sink):
    def __init__(self, name: str, path: str, fsync: bool = False) -> None:
        self.name = name
        self.template = path
        self.fsync = fsync
        self.templated = "{source}" in path
        self.base = os.path.normpath(path.split("{", 1)[0]) if self.templated else os.path.dirname(path)
        self._fds: dict[str, int] = {}

    def render(self, source: str) -> str:
        if not self.templated:
            return self.template
        path = os.path.normpath(self.template.replace("{source}", source))
        if "\0" in path or os.path.commonpath([self.base, path]) != self.base or path == self.base:
            raise FatalSinkError(f"path {path!r} for source {source!r} escapes the sink folder {self.base!r}")
        return path

    def _fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            os.makedirs(os.path.dirname(path) or ".", mode=0o750, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o640)
            try:
                self._cut_torn_line(fd, path)
            except OSError:
                os.close(fd)
                raise
            self._fds[path] = fd
        return fd

    def _cut_torn_line(self, fd: int, path: str) -> None:
        size = end = os.fstat(fd).st_size
        if not size or os.pread(fd, 1, size - 1) == b"\n":
            return
        while end > 0:
            start = max(0, end - TAIL_CHUNK)
            nl = os.pread(fd, end - start, start).rfind(b"\n")
            if nl >= 0:
                end = start + nl + 1
                break
            end = start
        os.ftruncate(fd, end)
        log.warning("output file ended in a partial line (a write torn by a crash); cut it, "
                    "its entries are written again", sink=self.name, path=path, bytes=size - end)

    def write(self, deliveries: list[Delivery]) -> None:
        if self.templated:
            groups: dict[str, list[bytes]] = defaultdict(list)
            for d in deliveries:
                groups[d.source].append(d.payload)
            for source, payloads in groups.items():
                self._write_all(self._fd(self.render(source)), b"".join(payloads))
        else:
            data = b"".join(d.payload for d in deliveries) if len(deliveries) > 1 else deliveries[0].payload
            self._write_all(self._fd(self.template), data)

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if self.fsync:
            os.fsync(fd)

    def reopen(self) -> None:
        self.close()
        if not self.templated:
            self._fd(self.template)

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)
