"""Real journal files for tests: entries written by `systemd-journal-remote` from the
journal export format, read back by journalctl like any journal.

Export format (systemd's JOURNAL_EXPORT_FORMATS): an entry is `KEY=value` lines ended by
an empty line; a value with a newline or other control bytes takes the binary form,
`KEY\\n`, its length as a 64-bit little-endian number, the bytes, `\\n`. journal-remote
needs `__REALTIME_TIMESTAMP` and `__MONOTONIC_TIMESTAMP` (and `_BOOT_ID` to place the
monotonic time); it appends to an existing output file (the sequence numbers go on), and
a new output file in the same folder is another file journalctl merges (a new sequence
number series).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
import uuid
from pathlib import Path

JOURNAL_REMOTE = shutil.which("systemd-journal-remote") or "/lib/systemd/systemd-journal-remote"

Fields = dict[str, str | bytes]


def export_field(key: str, value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if any(b < 32 and b != 9 for b in raw):
        return key.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
    return key.encode() + b"=" + raw + b"\n"


def numbered_entries(start: int, count: int, unit: str = "app.service", transport: str = "journal",
                     priority: int | None = None) -> list[Fields]:
    """Entries `seq=<n> …` for n in [start, start+count); PRIORITY is n % 8 unless given."""
    return [{"MESSAGE": f"seq={n} line {n:06d}", "PRIORITY": str(n % 8 if priority is None else priority),
             "_SYSTEMD_UNIT": unit, "SYSLOG_IDENTIFIER": "app", "_PID": str(1000 + n % 7),
             "_HOSTNAME": "box1", "_TRANSPORT": transport, "CODE_FILE": "app.c"}
            for n in range(start, start + count)]


class Journal:
    """A folder of journal files written through systemd-journal-remote."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(exist_ok=True)
        self.boot_id = uuid.uuid4().hex
        self.generation = 1
        self.monotonic = 1_000_000
        self.realtimes: list[int] = []  # __REALTIME_TIMESTAMP of every entry written, in order

    @property
    def output(self) -> Path:
        return self.folder / f"remote-{self.generation}.journal"

    def append(self, entries: list[Fields]) -> None:
        """Write `entries` to the current output file (appended to it)."""
        now = time.time_ns() // 1000
        data = bytearray()
        for i, fields in enumerate(entries):
            self.monotonic += 1
            self.realtimes.append(now + i)
            data += export_field("__REALTIME_TIMESTAMP", str(now + i))
            data += export_field("__MONOTONIC_TIMESTAMP", str(self.monotonic))
            data += export_field("_BOOT_ID", self.boot_id)
            for key, value in fields.items():
                data += export_field(key, value)
            data += b"\n"
        proc = subprocess.run([JOURNAL_REMOTE, f"--output={self.output}", "-"], input=bytes(data),
                              capture_output=True, timeout=20, check=False)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        for path in self.folder.iterdir():  # readable by whoever runs logproc
            os.chmod(path, 0o644)

    def replace(self) -> None:
        """Delete every journal file: what follows goes to a new file (a new series)."""
        for path in self.folder.glob("*.journal"):
            path.unlink()
        self.generation += 1
