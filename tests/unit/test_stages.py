"""The batch function: the same bytes and counts whatever the step, and pieces merge exactly."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import orjson
import pytest

from logproc.pipeline.stages import build_batch_fn, merge
from logproc.sinks.formats import build_formatter, needs_entries
from logproc.transforms import build_source_pipeline
from logproc.transforms.filter import build_filter

SOURCE = SimpleNamespace(parser="json", pattern=None, timezone="UTC", rename={}, drop_fields=[],
                         fields={"host": "bench"}, redact=[])


def _sink(**kw: object) -> SimpleNamespace:
    base: dict[str, object] = {"format": "json", "template": None, "min_level": None, "include": {},
                               "exclude": {}}
    return SimpleNamespace(**{**base, **kw})


SINKS = [_sink(exclude={"level": "^debug$"}), _sink(format="raw", min_level="error"), _sink(format="logfmt"),
         _sink(format="raw")]


def _lines(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        level = ("debug", "info", "error")[i % 3]
        out.append(b'{"timestamp":"2024-05-01T00:00:%02d.%03dZ","level":"%s","message":"m%d"}'
                   % (i % 60, i % 1000, level.encode(), i))
        if i % 97 == 0:
            out.append(b"not json %d" % i)
    return out


def _fn(step: int):  # type: ignore[no-untyped-def]
    pipeline = build_source_pipeline("app", SOURCE, "h")  # type: ignore[arg-type]
    # raw_only as the topology decides it: a raw sink reads raw lines, filtered or not
    routes = [(build_filter(s), build_formatter(s), not needs_entries(s) or s.format == "raw", False)
              for s in SINKS]
    return build_batch_fn(pipeline, routes, step=step)


@pytest.mark.parametrize("step", [1, 7, 128])
def test_same_result_whatever_the_step(step: int) -> None:
    lines = _lines(700)
    parts = [i % 2 for i in range(len(lines))]
    assert _fn(step)(lines, parts, "/x", 1.7e9) == _fn(100_000)(lines, parts, "/x", 1.7e9)


def test_pieces_merge_into_the_whole() -> None:
    run = _fn(128)
    lines = _lines(500)
    whole = run(lines, None, "/x", 1.7e9)
    cuts = [0, 3, 250, 251, len(lines)]
    pieces = [run(lines[a:b], None, "/x", 1.7e9) for a, b in itertools.pairwise(cuts)]
    assert merge(pieces) == whole
    errors, results = whole
    assert errors == 6
    # 167 debug lines dropped; min_level keeps the 166 errors and the 6 bad lines (no level)
    assert [r[0] for r in results] == [len(lines) - 167, 166 + 6, len(lines), len(lines)]


def test_empty_batch_has_no_routes() -> None:
    assert _fn(128)([], None, "/x", 1.7e9) == (0, [])


def test_a_route_that_keeps_nothing_gets_no_payload() -> None:
    only_debug = [b'{"level":"debug","message":"x"}'] * 3
    _, results = _fn(128)(only_debug, None, "/x", 1.7e9)
    assert results[0] == (0, 0, 3, b"")
    assert results[1] == (0, 3, 0, b"")


# -- the entries' stable ids ---------------------------------------------------------------
def _ids_fn(step: int, ids: str | None = "offset"):  # type: ignore[no-untyped-def]
    """Routes that show the ids they get: an `id_field` sink (json), and a raw one that
    takes ids itself (as a kafka or nats formatter would), filtered."""
    from logproc.pipeline.ids import with_id_field

    def raw_with_ids(entries: object, raws: list[bytes], ids: list[str] | None) -> bytes:
        return b"".join(b"%s %s\n" % ((i or "-").encode(), r) for i, r in zip(ids or [None] * len(raws), raws, strict=True))

    pipeline = build_source_pipeline("app", SOURCE, "h")  # type: ignore[arg-type]
    routes = [(None, with_id_field(build_formatter(_sink()), "id", False), False, True),
              (build_filter(_sink(min_level="error")), raw_with_ids, True, True),
              (None, build_formatter(_sink(format="logfmt")), False, False)]
    return build_batch_fn(pipeline, routes, step=step, ids=ids)


@pytest.mark.parametrize("step", [1, 7, 128])
def test_ids_are_the_same_whatever_the_step_and_the_cut(step: int) -> None:
    lines = _lines(600)
    offsets = [17 + 100 * i for i in range(len(lines))]
    whole = _ids_fn(100_000)(lines, None, "/x", 1.7e9, offsets, "00ff00ff00ff00ff")
    assert _ids_fn(step)(lines, None, "/x", 1.7e9, offsets, "00ff00ff00ff00ff") == whole
    cuts = [0, 1, 299, 300, 599, len(lines)]
    pieces = [_ids_fn(step)(lines[a:b], None, "/x", 1.7e9, offsets[a:b], "00ff00ff00ff00ff")
              for a, b in itertools.pairwise(cuts)]
    assert merge(pieces) == whole
    json_ids = [orjson.loads(x)["id"] for x in whole[1][0][3].splitlines()]
    assert json_ids == [f"00ff00ff00ff00ff-{o:x}" for o in offsets]
    # the filtered raw route gets the ids of the entries it keeps, in order
    raw_ids = [x.split(b" ", 1)[0].decode() for x in whole[1][1][3].splitlines()]
    kept = [i for i, line in enumerate(lines) if b'"error"' in line or not line.startswith(b"{")]
    assert raw_ids == [f"00ff00ff00ff00ff-{offsets[i]:x}" for i in kept]
    assert b"id=" not in whole[1][2][3]  # a sink without id_field sees the entries unchanged


def test_no_offsets_or_no_scheme_means_no_ids() -> None:
    lines = _lines(10)
    for fn, offsets in ((_ids_fn(128), None), (_ids_fn(128, ids=None), list(range(len(lines))))):
        _, results = fn(lines, None, "/x", 1.7e9, offsets, "00ff00ff00ff00ff")
        assert all("id" not in orjson.loads(x) for x in results[0][3].splitlines())
        assert all(x.startswith(b"- ") for x in results[1][3].splitlines())
