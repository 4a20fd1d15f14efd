"""`elasticsearch`: a `_bulk` body (`application/x-ndjson`), two lines per entry:

    {"create":{"_index":"logproc-2026.11.24"}}
    {"@timestamp":"2026-11-24T04:00:00.123Z","timestamp":"2026-11-24T04:00:00.123Z",…}

ending with a newline, as the bulk API requires.

- the action is `action` (`create`, the default, works for data streams; `index`), with
  the entry's stable id as `_id` when it has one (`logproc.pipeline.ids`; the syslog
  receiver's entries have none: Elasticsearch then makes one up). With `create`, a
  document sent again (after a crash) is refused with 409 and counted as a duplicate,
  delivered (see `is_duplicate`); with `index` it overwrites the same document. Either
  way the index holds each entry once;
- the index is `index` formatted by strftime on the entry's timestamp (UTC), lower-cased,
  with the characters Elasticsearch forbids in index names (`\\ / * ? " < > | , #` and
  blanks) replaced by `_`; an entry without a readable timestamp uses the encoding time;
- the document is the entry as JSON (whatever `format` says: a bulk document is an
  object), with `@timestamp` added first as a copy of `timestamp` when the entry has no
  `@timestamp` of its own — data streams refuse documents without it.

A unit is `[action,document]`: one line, a valid JSON array (the dead-letter file shows
it; its two elements are the bulk lines). The action ends at the unit's first `}},`: the
index name holds no comma and an id no brace.

`failures(response, n)` reads a bulk response: the items that failed, by position.
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson

from logproc.sinks.formats import Formatter, format_json
from logproc.sinks.http.encoders import Encoding
from logproc.sinks.http.timefmt import epoch_ns

_FORBIDDEN = re.compile(r'[\\/*?"<>|,#\s]')
_ERRORS = re.compile(rb'"errors"\s*:\s*true')
_CACHE_MAX = 4096


def build_entry_half(cfg: Any) -> Formatter:
    pattern: str = cfg.index
    action: str = cfg.action
    # epoch second -> '[{"<action>":{"_index":"<name>"' (an index per second at most)
    actions: dict[int, bytes] = {}
    dumps = orjson.dumps

    def opening(ts: Any) -> bytes:
        ns = epoch_ns(ts)
        sec = (ns if ns is not None else time.time_ns()) // 1_000_000_000
        found = actions.get(sec)
        if found is None:
            name = _FORBIDDEN.sub("_", time.strftime(pattern, time.gmtime(sec)).lower())
            found = b"[" + dumps({action: {"_index": name}})[:-2]
            if len(actions) >= _CACHE_MAX:
                actions.clear()
            actions[sec] = found
        return found

    def bulk_units(entries: list[dict[str, Any]] | None, raws: list[bytes],
                   ids: list[str] | None = None) -> bytes:
        if not entries:
            return b""
        docs = format_json(entries, raws).split(b"\n")
        out: list[bytes] = []
        last_ts: Any = None
        head = stamp = b""
        for i, (entry, line) in enumerate(zip(entries, docs, strict=False)):
            ts = entry.get("timestamp")
            if ts != last_ts or not head:  # entries of a batch often share their time
                last_ts = ts
                head = opening(ts)
                stamp = b'{"@timestamp":' + dumps(ts, default=str) + b","
            doc_id = ids[i] if ids is not None else ""
            action = b"".join((head, b',"_id":', dumps(doc_id), b"}},")) if doc_id else head + b"}},"
            if ts is not None and len(line) > 2 and "@timestamp" not in entry:
                out.append(b"".join((action, stamp, line[1:], b"]")))
            else:
                out.append(b"".join((action, line, b"]")))
        out.append(b"")
        return b"\n".join(out)

    return bulk_units


def body(chunks: list[bytes]) -> bytes:
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    out: list[bytes] = []
    add = out.append
    for unit in data.split(b"\n"):
        if unit:
            i = unit.index(b"}},") + 2
            add(unit[1:i])
            add(unit[i + 1:-1])
    add(b"")
    return b"\n".join(out)


def is_duplicate(status: int, item: str) -> bool:
    """A failed item that is a document the index already has: 409 under `create`
    (`version_conflict_engine_exception`, its `_id` taken: this entry, sent before)."""
    return status == 409 and item.startswith('{"create"')


def failures(response: bytes, n: int) -> list[tuple[int, int, str, str]]:
    """`(position, status, reason, item)` of each failed item of a bulk response for `n`
    items; `item` is the item's result as JSON text (duplicates included: see
    `is_duplicate`).

    Raises ValueError when the response is not a bulk response for `n` items (then no item
    can be told from another).
    """
    if _ERRORS.search(response) is None:
        return []
    doc = orjson.loads(response)
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list) or len(items) != n:
        raise ValueError(f"bulk response has {len(items) if isinstance(items, list) else 'no'} items "
                         f"for {n} sent")
    out = []
    for pos, item in enumerate(items):
        result: Any = next(iter(item.values()), {}) if isinstance(item, dict) and item else {}
        status = result.get("status", 0) if isinstance(result, dict) else 0
        if not isinstance(status, int) or not 200 <= status < 300:
            error = result.get("error") if isinstance(result, dict) else None
            if isinstance(error, dict):
                reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
            else:
                reason = str(error or "no status")
            out.append((pos, status if isinstance(status, int) else 0, reason,
                        orjson.dumps(item, default=str).decode()))
    return out


def build(cfg: Any) -> Encoding:
    return Encoding("elasticsearch", "application/x-ndjson", build_entry_half(cfg), body, bulk=True)
