"""Discovery: which files a source's globs match now.

Globs follow wcmatch's path semantics (`*` and `?` stop at `/`, `{a,b}` braces, `[...]`
classes, `**` any depth of folders, itself included). `**` does not descend into symlinked
folders, so a symlink loop cannot make discovery run forever; a symlink to a file counts
as the file. An `exclude` pattern containing `/` is matched against the whole path (`**`
too); one without `/` against the base name (so `*.gz` excludes every gzip file).
Only regular files are returned; `special_paths` names what a pattern matched that cannot
be tailed (a folder, a FIFO, a device, a socket), for a warning.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from wcmatch import glob

_FLAGS = glob.BRACE | glob.NODIR | glob.DOTMATCH | glob.GLOBSTAR
_MATCH_FLAGS = glob.BRACE | glob.DOTMATCH | glob.GLOBSTAR


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
        if glob.globmatch(target, pat, flags=_MATCH_FLAGS):
            return True
    return False


def watch_dirs(paths: list[str]) -> dict[str, bool]:
    """The folders whose events can reveal a new match: each glob's deepest fixed folder,
    and whether its subfolders matter too (the rest of the glob has a `**` or another
    magic folder part: such a folder is watched recursively)."""
    dirs: dict[str, bool] = {}
    for pattern in paths:
        parts = pattern.split("/")
        fixed: list[str] = []
        for part in parts[:-1]:
            if glob.is_magic(part, flags=glob.BRACE | glob.GLOBSTAR):
                break
            fixed.append(part)
        folder = "/".join(fixed) or "/"
        deeper = len(fixed) < len(parts) - 1
        dirs[folder] = dirs.get(folder, False) or deeper
    return dirs


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def special_paths(paths: list[str], exclude: list[str]) -> list[tuple[str, str]]:
    """(path, what it is) for each path that cannot be tailed though the config names it: a
    pattern without wildcards naming a folder, a FIFO, a device or a socket, or a glob
    matching one of the last three (a glob matching folders too, such as `logs/*`, is normal)."""
    candidates: dict[str, bool] = {}  # path -> named literally
    for pattern in paths:
        if glob.is_magic(pattern, flags=glob.BRACE | glob.GLOBSTAR):
            for path in glob.glob(pattern, flags=_FLAGS & ~glob.NODIR):
                candidates.setdefault(path, False)
        elif os.path.lexists(pattern):
            candidates[pattern] = True
    out = []
    for path, literal in sorted(candidates.items()):
        if exclude and is_excluded(path, exclude):
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue
        kind = next((what for test, what in _KINDS if test(mode)), None)
        if kind is not None and (literal or kind != "a folder"):
            out.append((path, kind))
    return out


def _is_file(path: str) -> bool:
    try:
        return os.path.isfile(path)
    except OSError:
        return False
