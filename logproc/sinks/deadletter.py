"""The dead-letter file: `state_dir/dead-letter.jsonl`, one JSON object per line.

Every entry that leaves the pipeline without reaching a sink (other than by a filter) is
written here with `time`, `sink`, `reason`, HTTP `status` / `response` when known, and the
`entry` (the formatted line as the sink would have sent it). Appends are serialised by a
lock and flushed at once; the file is 0600 like the checkpoints.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from logproc.sinks.base import Delivery

FILE_NAME = "dead-letter.jsonl"


class DeadLetters:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._lock = threading.Lock()
        self.written = 0

    def write(self, sink: str, reason: str, deliveries: Iterable[Delivery],
              status: int | None = None, response: str | None = None) -> None:
        now = time.time()
        out: list[bytes] = []
        for d in deliveries:
            for line in d.payload.splitlines():
                rec: dict[str, Any] = {"time": now, "sink": sink, "reason": reason}
                if status is not None:
                    rec["status"] = status
                    rec["response"] = response
                rec["entry"] = line.decode("utf-8", "replace")
                out.append(orjson.dumps(rec))
        if not out:
            return
        data = b"\n".join(out) + b"\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            self.written += len(out)
