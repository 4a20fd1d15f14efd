"""The per-batch work of a consumer, as one function built once per source.

``build_batch_fn(pipeline, routes, ids=scheme)`` returns
``run(lines, parts, path, read_time, offsets, ident) -> (n_parse_errors, results)``
(``offsets``, ``ident``: the batch's, from which the source kind's id scheme makes the
entries' stable ids, see :mod:`.ids`; computed once per piece, only when a route uses
them) where ``results`` has
one ``RouteResult`` per route, in route order: ``(entries, dropped_min_level,
dropped_filter, payload)``. A route whose ``entries`` is 0 gets no delivery (its filter
kept nothing); an empty batch gives no results at all.

The same function runs in a consumer thread (``[daemon] workers = 0``) and in a worker
process (:mod:`logproc.pipeline.offload.worker`), so both modes produce the same bytes. It is a
pure function of its arguments: running it again on the same lines gives the same
result, which is what lets a consumer retry a batch whose worker died.

The work on a batch can be split at any line boundary (``run`` itself works in steps of
``STEP`` lines): the results of two halves, summed
field by field with payloads concatenated in order, equal the result of the whole
(parsers, filters and formatters keep no state from one line to the next).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from logproc.pipeline.ids import scheme

#: (entries delivered, dropped by min_level, dropped by include/exclude, payload bytes)
RouteResult = tuple[int, int, int, bytes]
BatchResult = tuple[int, list[RouteResult]]
BatchFn = Callable[[list[bytes], "list[int] | None", str, float, "list[int] | None", str], BatchResult]

#: (filter or None, formatter, raw_only, uses_ids): what a route needs to turn entries into a
#: payload; a formatter that uses ids is called as ``formatter(entries, raws, ids)``, ``ids``
#: aligned with the entries (each entry's stable identity) or None when the source has none
RouteSpec = tuple[Any, Any, bool, bool]

#: Lines worked through at a time, parse to payload. Measured (docs/performance.md): the
#: entries of 128 lines stay in the CPU's caches between parsing and formatting, those of
#: a whole 1,500-line batch do not, and that costs up to 3-4x per line on small-cache
#: machines. Raw pass-through (no pipeline) is done in one step.
STEP = 128


def build_batch_fn(pipeline: Any, routes: Sequence[RouteSpec], step: int = STEP,
                   ids: str | None = None) -> BatchFn:
    """The batch function of one source: its pipeline (None: no route needs entries), its
    routes' (filter, formatter, raw_only, uses_ids) and its kind's id scheme (``ids``, see
    :mod:`.ids`). The batch is worked through ``step`` lines at a time (see ``STEP``); the
    result is the same for any step."""
    specs = tuple(routes)
    width = len(specs)
    id_of = scheme(ids) if any(spec[3] for spec in specs) else None

    def run_piece(lines: list[bytes], parts: list[int] | None, path: str, read_time: float,
                  offsets: list[int] | None, ident: str, acc: list[list[Any]]) -> int:
        entries = None
        errors = 0
        if pipeline is not None:
            entries, errors = pipeline(lines, parts, path, read_time)
        n_lines = len(lines)
        ids = id_of(lines, offsets, ident) if id_of is not None else None
        for (filt, formatter, raw_only, uses_ids), total in zip(specs, acc, strict=True):
            sel_entries, sel_raws, sel_ids = entries, lines, ids
            if filt is not None:
                kept, n_level, n_filter = filt(entries)
                total[1] += n_level
                total[2] += n_filter
                if len(kept) != n_lines:
                    if not kept:
                        continue
                    sel_raws = [lines[i] for i in kept]  # aligned with the entries kept
                    if sel_ids is not None:
                        sel_ids = [sel_ids[i] for i in kept]
                    if not raw_only:
                        sel_entries = [entries[i] for i in kept]  # type: ignore[index]
            if raw_only:
                total[0] += len(sel_raws)
                total[3].append(formatter(None, sel_raws, sel_ids) if uses_ids else formatter(None, sel_raws))
            elif uses_ids:
                total[0] += len(sel_entries or ())
                total[3].append(formatter(sel_entries, sel_raws, sel_ids))
            else:
                total[0] += len(sel_entries or ())
                total[3].append(formatter(sel_entries, sel_raws))
        return errors

    def run(lines: list[bytes], parts: list[int] | None, path: str, read_time: float,
            offsets: list[int] | None = None, ident: str = "") -> BatchResult:
        n = len(lines)
        if not n:
            return 0, []
        acc: list[list[Any]] = [[0, 0, 0, []] for _ in range(width)]
        if n <= step or pipeline is None:
            errors = run_piece(lines, parts, path, read_time, offsets, ident, acc)
        else:
            errors = 0
            for a in range(0, n, step):
                errors += run_piece(lines[a:a + step], None if parts is None else parts[a:a + step],
                                    path, read_time, None if offsets is None else offsets[a:a + step],
                                    ident, acc)
        return errors, [(t[0], t[1], t[2], t[3][0] if len(t[3]) == 1 else b"".join(t[3])) for t in acc]

    return run


def merge(parts: Sequence[BatchResult]) -> BatchResult:
    """The result of a batch from the results of its consecutive pieces, in order."""
    if len(parts) == 1:
        return parts[0]
    errors = 0
    width = max(len(r) for _, r in parts)
    totals = [[0, 0, 0, []] for _ in range(width)]  # type: list[list[Any]]
    for e, results in parts:
        errors += e
        for acc, (n, n_level, n_filter, payload) in zip(totals, results, strict=False):
            acc[0] += n
            acc[1] += n_level
            acc[2] += n_filter
            if payload:
                acc[3].append(payload)
    return errors, [(n, lv, fl, b"".join(chunks)) for n, lv, fl, chunks in totals]
