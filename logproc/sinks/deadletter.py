"""The dead-letter file: `state_dir/dead-letter.jsonl`, one JSON object per line.

Every entry that leaves the pipeline without reaching a sink (other than by a filter) is
written here with `time`, `sink`, `reason`, HTTP `status` / `response` when known, and the
`entry` (the formatted line as the sink would have sent it, unaltered, so it can be sent
again). `reason` and `response` pass through `logproc.masking.mask`: a server that echoes
the request's credentials back in its error body does not put them on disk. Appends are
serialised by a lock and flushed at once; the file is 0600 like the checkpoints and is
opened with `O_NOFOLLOW` (a symlink planted under its name is refused, never written
through).

Logging: dead letters are an error an operator must see, but a sink refusing everything
(a wrong token) must not flood the log. The first dead letter of a sink is logged at
once; later ones are summed and logged at most once per `LOG_INTERVAL` per sink (sink,
reason, status, entries since the last line), by the next write or by `flush_log()`,
which the supervisor calls on its tick and at shutdown.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from logproc.log import get_logger
from logproc.masking import mask
from logproc.sinks.base import Delivery

log = get_logger("sink")

FILE_NAME = "dead-letter.jsonl"
LOG_INTERVAL = 10.0  # seconds between two "entries dead-lettered" lines of one sink
_OPEN = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(slots=True)
class _Pending:
    """Dead letters of one sink not yet logged."""

    entries: int = 0
    reason: str = ""
    status: int | None = None
    logged_at: float = 0.0


class DeadLetters:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._lock = threading.Lock()
        self.written = 0
        self._pending: dict[str, _Pending] = {}

    def write(self, sink: str, reason: str, deliveries: Iterable[Delivery],
              status: int | None = None, response: str | None = None) -> int:
        """Append the entries of `deliveries`; the number of entries written."""
        now = time.time()
        reason = mask(reason)
        shown = mask(response) if response is not None else None
        out: list[bytes] = []
        for d in deliveries:
            for line in d.payload.splitlines():
                rec: dict[str, Any] = {"time": now, "sink": sink, "reason": reason}
                if status is not None:
                    rec["status"] = status
                    rec["response"] = shown
                rec["entry"] = line.decode("utf-8", "replace")
                out.append(orjson.dumps(rec))
        if not out:
            return 0
        data = b"\n".join(out) + b"\n"
        with self._lock:
            fd = os.open(self.path, _OPEN, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            self.written += len(out)
            pending = self._pending.setdefault(sink, _Pending())
            pending.entries += len(out)
            pending.reason, pending.status = reason, status
            due = time.monotonic() - pending.logged_at >= LOG_INTERVAL
        if due:
            self._log(sink)
        return len(out)

    def last_refusal(self, sink: str) -> str:
        """Why `sink`'s latest dead letters were refused ("HTTP 401: …"), masked; "" if none."""
        pending = self._pending.get(sink)
        if pending is None:
            return ""
        if pending.status and not pending.reason.startswith(f"HTTP {pending.status}"):
            return f"HTTP {pending.status}: {pending.reason}"
        return pending.reason

    def flush_log(self, force: bool = False) -> None:
        """Log the dead letters not logged yet of every sink whose interval has passed (the
        supervisor's tick), or of every sink (`force`: shutdown)."""
        now = time.monotonic()
        for sink, pending in list(self._pending.items()):
            if pending.entries and (force or now - pending.logged_at >= LOG_INTERVAL):
                self._log(sink)

    def _log(self, sink: str) -> None:
        with self._lock:
            pending = self._pending.get(sink)
            if pending is None or not pending.entries:
                return
            entries, reason, status = pending.entries, pending.reason, pending.status
            pending.entries = 0
            pending.logged_at = time.monotonic()
        log.error("entries dead-lettered", sink=sink, entries=entries, reason=reason, status=status,
                  file=str(self.path))
