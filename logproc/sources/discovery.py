"""Discovery: which files a source's globs match now.

Globs follow wcmatch's path semantics (`*` and `?` stop at `/`, `{a,b}` braces, `[...]`
classes; `**` is not enabled yet). An `exclude` pattern containing `/` is matched against
the whole path; one without `/` against the base name (so `*.gz` excludes every gzip file).
Only regular files are returned; a symlink counts as the file it points to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from wcmatch import glob

_FLAGS = glob.BRACE | glob.NODIR | glob.DOTMATCH


def match_files(paths: list[str], exclude: list[str]) -> list[str]:
    """Sorted absolute paths of the regular files matched by `paths` and not by `exclude`."""
    found: set[str] = set()
    for pattern in paths:
        found.update(glob.glob(pattern, flags=_FLAGS))
    if exclude:
        found = {p for p in found if not is_excluded(p, exclude)}
    return sorted(p for p in found if _is_file(p))


def is_excluded(path: str, exclude: Iterable[str]) -> bool:
    base = os.path.basename(path)
    for pat in exclude:
        target = path if "/" in pat else base
        if glob.globmatch(target, pat, flags=glob.BRACE | glob.DOTMATCH):
            return True
    return False


def watch_dirs(paths: list[str]) -> set[str]:
    """The folders whose events can reveal a new match: each glob's deepest fixed folder."""
    dirs: set[str] = set()
    for pattern in paths:
        parts = pattern.split("/")
        fixed: list[str] = []
        for part in parts[:-1]:
            if glob.is_magic(part, flags=glob.BRACE):
                break
            fixed.append(part)
        dirs.add("/".join(fixed) or "/")
    return dirs


def _is_file(path: str) -> bool:
    try:
        return os.path.isfile(path)
    except OSError:
        return False
