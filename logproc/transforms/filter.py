"""A sink's entry filter: ``min_level``, ``include`` and ``exclude``.

``filter(entries) -> (kept_indices, n_dropped_by_min_level, n_dropped_by_filter)``; an entry
dropped by ``min_level`` is not tested (nor counted) again by ``include``/``exclude``.

- ``min_level``: an entry whose level ranks below is dropped. An entry with no level, or with
  a level outside the seven canonical names (kept as written by the parser), passes.
- ``include`` (field → regex): every regex must be found (a search, not anchored) in its field's text;
  a missing field never matches, so the entry is dropped.
- ``exclude`` (field → regex): any regex found drops the entry; a missing field never
  matches, so it does not drop.

A field's text is the string itself, or ``str()`` of any other value (``True``, ``42``, …).

Decided at build time: a regex that is a plain literal anchored at both ends (``^debug$``) is
tested by set membership, which is exact (``$`` also matches before a final ``\\n``, so the
set holds that spelling too); everything else runs on RE2 (:mod:`logproc.patterns`, linear in
the value's length whatever the pattern), its answers memoised for short values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from logproc.patterns import compile_pattern
from logproc.transforms.base import Entry
from logproc.transforms.levels import LEVEL_RANK, normalize_level

if TYPE_CHECKING:
    from logproc.sinks.base import SinkBase as SinkConfig

SinkFilter = Callable[[list[Entry]], tuple[list[int], int, int]]

_META = frozenset(".^$*+?{}[]\\|()")
_MISSING: Any = object()


def compile_condition(pattern: str) -> Callable[[str], Any]:
    """A test for one include/exclude regex: truthy when ``pattern`` is found in the text."""
    if len(pattern) >= 2 and pattern[0] == "^" and pattern[-1] == "$":
        literal = pattern[1:-1]
        if not _META.intersection(literal):
            return frozenset((literal, literal + "\n")).__contains__
    return compile_pattern(pattern).found


def _conditions(spec: Mapping[str, str] | None) -> tuple[tuple[str, Callable[[str], Any]], ...]:
    return tuple((field, compile_condition(pattern)) for field, pattern in (spec or {}).items())


def build_filter(sink_cfg: SinkConfig) -> SinkFilter | None:
    """The filter of a sink, or None when it has no ``min_level``, ``include`` or ``exclude``.

    Reads only ``min_level``, ``include`` and ``exclude``. Raises ``ValueError`` for an
    unknown ``min_level`` and ``PatternError`` (a ValueError) for an invalid regex.
    """
    min_level = sink_cfg.min_level
    includes = _conditions(sink_cfg.include)
    excludes = _conditions(sink_cfg.exclude)
    threshold = 0
    if min_level is not None:
        canonical = normalize_level(min_level)
        if canonical not in LEVEL_RANK:
            raise ValueError(f"unknown min_level {min_level!r}")
        threshold = LEVEL_RANK[canonical]
    if threshold == 0 and not includes and not excludes:
        return None  # "trace" keeps everything: no filter at all
    if threshold == 0 and len(includes) + len(excludes) == 1:
        return _single(*(includes or excludes)[0], include=bool(includes))
    rank_of = LEVEL_RANK.get

    def keep(entries: list[Entry]) -> tuple[list[int], int, int]:
        kept: list[int] = []
        append = kept.append
        n_level = n_filter = 0
        missing = _MISSING
        for index, entry in enumerate(entries):
            if threshold:
                level = entry.get("level")
                if level.__class__ is str:
                    rank = rank_of(level)
                    if rank is not None and rank < threshold:
                        n_level += 1
                        continue
            # for/else: the else runs when no condition broke out, i.e. the entry stays.
            for field, test in includes:
                value = entry.get(field, missing)
                if value is missing or not test(value if value.__class__ is str else str(value)):
                    n_filter += 1
                    break
            else:
                for field, test in excludes:
                    value = entry.get(field, missing)
                    if value is not missing and test(value if value.__class__ is str else str(value)):
                        n_filter += 1
                        break
                else:
                    append(index)
        return kept, n_level, n_filter

    return keep


def _single(field: str, test: Callable[[str], Any], *, include: bool) -> SinkFilter:
    """The common one-condition filter (J2's ``exclude = { level = "^debug$" }``), without
    the generic loop's bookkeeping."""
    missing = _MISSING

    def keep(entries: list[Entry]) -> tuple[list[int], int, int]:
        kept: list[int] = []
        append = kept.append
        for index, entry in enumerate(entries):
            value = entry.get(field, missing)
            found = value is not missing and bool(
                test(value if value.__class__ is str else str(value))
            )
            if found is include:
                append(index)
        return kept, 0, len(entries) - len(kept)

    return keep
