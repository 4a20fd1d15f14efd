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
  non-templated path at once, so the file exists right after the signal.
"""

from __future__ import annotations

import os
from collections import defaultdict

from logproc.errors import FatalSinkError
from logproc.sinks.base import Delivery


class FileSink:
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
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o640)
            self._fds[path] = fd
        return fd

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
