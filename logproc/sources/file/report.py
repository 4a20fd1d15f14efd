"""What `logproc check` shows of a file source: its globs, the files they match now
(compressed ones with their format and, when the format says it, their decompressed
size), and warnings for what would surprise at run time."""

from __future__ import annotations

import os
from typing import Any

from logproc.sources.file import compressed
from logproc.sources.file.discovery import match_files, special_paths


def describe(name: str, src: Any) -> list[str]:
    head = f"  {name}: parser {src.parser}, start_at {src.start_at}, priority {src.priority}"
    lines = [head, f"    paths: {', '.join(src.paths)}"]
    if src.exclude:
        lines.append(f"    exclude: {', '.join(src.exclude)}")
    files = match_files(src.paths, src.exclude)
    lines.append(f"    matches {len(files)} file{'' if len(files) == 1 else 's'}{':' if files else ''}")
    lines += [f"      {f}{_compressed(f)}" for f in files]
    # Globs one by one, to name the one that matches nothing among several that do.
    empty = [glob for glob in src.paths if not match_files([glob], src.exclude)]
    lines += [f"    warning: {glob} matches no file" for glob in empty]
    lines += [f"    warning: {f} cannot be read" for f in files if not os.access(f, os.R_OK)]
    lines += [f"    warning: {path} is {kind}, not a file: it is not read"
              for path, kind in special_paths(src.paths, src.exclude)]
    return lines


def _compressed(path: str) -> str:
    """" (gzip, 1234 bytes decompressed)" for a compressed file, "" for a plain one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        fmt = compressed.sniff(fd)
        if fmt is None:
            return ""
        size = compressed.size_hint(fd, fmt)
        return f" ({fmt}{'' if size is None else f', {size} bytes decompressed'})"
    except OSError:
        return ""
    finally:
        os.close(fd)
