"""Entries' stable identities: what each source kind gives, and a sink's `id_field`.

An entry's id is the same each time the same line is sent again (after a crash, a
restart, a rotation or compression of its file), so a destination that deduplicates can
drop what it already has (`docs/reliability.md`, "Exactly once"). By source kind
(`SourceKind.ids` names the scheme):

- `offset` (files): `<ident>-<offset>`, the file's ident (16 hex digits, random, kept in
  its checkpoint record: `logproc.checkpoints`) and the offset of the entry's first byte
  in the (decompressed) file, in hex: `3f2a9c01d4e5b678-1a2b`. A multiline entry has its
  first line's offset; a piece of a cut line or entry its own first byte's. Short (at
  most 33 characters), URL, header and JSON safe. None when the batch has no offsets
  (no routed sink uses ids: the splitter did not compute them);
- `cursor` (journald): the entry's `__CURSOR`, read from its journalctl line; "" (no
  id) for a line without one, or with a cursor holding other characters than
  journald's (letters, digits, `=;_-`), so every id is safe in a bulk action or header;
- none (the syslog receiver): no identity; ids are None.

`route_spec(cfg)` is a sink's route as the batch function runs it, the same in the
daemon and in worker processes. With `id_field`, the sink's formatter gets entries with
the id added as that field (copies: other sinks see the entries unchanged; an entry's own
field of that name is overwritten); an entry with no id gets no field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

IdScheme = Callable[[Sequence[bytes], "list[int] | None", str], "list[str] | None"]

_CURSOR_KEY = b'"__CURSOR":"'
_SAFE_CURSOR = re.compile(r"[A-Za-z0-9=;_-]{1,512}")


def entry_id(ident: str, offset: int) -> str:
    """The id of the entry whose first byte is at `offset` in the file named `ident`."""
    return f"{ident}-{offset:x}"


def offset_ids(lines: Sequence[bytes], offsets: list[int] | None, ident: str) -> list[str] | None:
    if offsets is None or not ident:
        return None
    prefix = ident + "-"
    return [f"{prefix}{o:x}" for o in offsets]


def cursor_id(line: bytes) -> str:
    """The `__CURSOR` of one journalctl JSON line ("" when none, or not a safe one)."""
    i = line.find(_CURSOR_KEY)
    if i < 0:  # another spacing than journalctl's: decode the line
        from logproc.sources.journald.journal import cursor_of
        cursor = cursor_of(line) or ""
    else:
        start = i + len(_CURSOR_KEY)
        end = line.find(b'"', start)
        cursor = line[start:end].decode("ascii", "replace") if end > start else ""
    return cursor if cursor and _SAFE_CURSOR.fullmatch(cursor) else ""


def cursor_ids(lines: Sequence[bytes], offsets: list[int] | None, ident: str) -> list[str] | None:
    return [cursor_id(line) for line in lines]


SCHEMES: dict[str, IdScheme] = {"offset": offset_ids, "cursor": cursor_ids}


def scheme(name: str | None) -> IdScheme | None:
    """The id scheme a source kind names (None: its entries have no identity)."""
    return SCHEMES[name] if name is not None else None


def with_id_field(fmt: Any, field: str, takes_ids: bool) -> Any:
    """`fmt` (a formatter, taking ids when `takes_ids`) with each entry's id added as `field`."""

    def formatter(entries: list[dict[str, Any]] | None, raws: list[bytes], ids: list[str] | None) -> bytes:
        if ids is not None and entries:
            entries = [{**e, field: i} if i else e for e, i in zip(entries, ids, strict=True)]
        out: bytes = fmt(entries, raws, ids) if takes_ids else fmt(entries, raws)
        return out

    return formatter


def route_spec(cfg: Any) -> tuple[Any, Any, bool, bool]:
    """A sink's (filter, formatter, raw_only, uses_ids) for `stages.build_batch_fn`, from its
    config (a model or its plain values)."""
    from logproc.sinks.registry import kind_of
    from logproc.transforms.filter import build_filter

    kind = kind_of(cfg)
    fmt, uses = kind.formatter(cfg), kind.uses_ids(cfg)
    field = getattr(cfg, "id_field", None)
    if field:
        fmt, uses = with_id_field(fmt, field, uses), True
    return build_filter(cfg), fmt, kind.raw_only(cfg), uses
