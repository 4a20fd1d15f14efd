"""What `logproc check` shows of a journald source: which journal (the system's, found
or not, or a folder and its journal files), the units and matches, where a first start
begins; warnings for what would leave it idle at run time (no journalctl, journal files
this user cannot read). Reads the disk, runs nothing."""

from __future__ import annotations

import glob
import os
from typing import Any

from logproc.sources.journald import journal


def describe(name: str, src: Any) -> list[str]:
    lines = [f"  {name}: journald, start_at {src.start_at}, priority {src.priority}"]
    if src.directory is None:
        files = journal.system_journal_files()
        found = f"{len(files)} journal file{'' if len(files) == 1 else 's'}" if files else "none found"
        lines.append(f"    journal: this machine's ({found})")
        if not files:
            lines.append("    no systemd journal on this machine: the source stays idle")
    else:
        files = glob.glob(os.path.join(glob.escape(src.directory), "*.journal"))
        lines.append(f"    journal: folder {src.directory} ({len(files)} journal "
                     f"file{'' if len(files) == 1 else 's'})")
    lines.append(f"    units: {', '.join(src.units) if src.units else 'all'}")
    if src.match:
        lines.append("    match: " + ", ".join(f"{k} = {v}" for k, v in src.match.items()))
    if files and journal.journalctl() is None:
        lines.append("    warning: journalctl not found: the source cannot read the journal")
    if journal.unreadable(files):
        lines.append("    warning: the journal files cannot be read by this user (it needs the "
                     "systemd-journal or adm group)")
    return lines
