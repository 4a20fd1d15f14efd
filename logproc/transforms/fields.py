"""``rename``, ``drop_fields`` and ``fields``: the field transforms, each over a whole batch.

Each builder returns None when its key is not configured, so an unused transform costs
nothing, not even a call.

- ``rename`` (old → new): the field keeps its position under the new name. When the new name
  is already taken, the renamed value wins at the position of whichever key comes first (a
  rename onto ``message`` overwrites the message in its place).
- ``drop_fields``: removes the named fields when present (any field, metadata included).
- ``fields``: static values, set on every entry; they win over parsed values of the same
  name (a key that exists keeps its position, a new key goes last).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from logproc.transforms.base import Entry, Transform


def build_rename(rename: Mapping[str, str]) -> Transform | None:
    """The rename transform, or None when ``rename`` is empty."""
    if not rename:
        return None
    names = dict(rename)
    olds = tuple(names)
    get = names.get

    def rebuilt(entry: Entry) -> Entry:
        out: Entry = {}
        for key, value in entry.items():
            new = get(key)
            if new is not None:
                out[new] = value
            elif key not in out:  # else a renamed value already took this name: it wins
                out[key] = value
        return out

    def apply(entries: list[Entry]) -> None:
        for index, entry in enumerate(entries):
            for old in olds:
                if old in entry:  # rebuild only the entries that have something to rename
                    entries[index] = rebuilt(entry)
                    break

    return apply


def build_drop_fields(drop_fields: list[str]) -> Transform | None:
    """The drop_fields transform, or None when ``drop_fields`` is empty."""
    if not drop_fields:
        return None
    names = tuple(dict.fromkeys(drop_fields))
    pop = dict.pop

    def apply(entries: list[Entry]) -> None:
        for entry in entries:
            for name in names:
                pop(entry, name, None)

    return apply


def build_static_fields(fields: Mapping[str, Any]) -> Transform | None:
    """The fields transform, or None when ``fields`` is empty."""
    if not fields:
        return None
    static = dict(fields)
    update = dict.update

    def apply(entries: list[Entry]) -> None:
        for entry in entries:
            update(entry, static)

    return apply
