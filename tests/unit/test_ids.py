"""Entries' stable identities: the id format, the offsets the splitters give (empty lines,
CRLF, NULs, long-line pieces, multiline, however the file is read), file idents in the
checkpoint store, `id_field`, and the elasticsearch `_id` with 409s counted as delivered."""

from __future__ import annotations

import json
import random
import re

import orjson
import pytest
from pydantic import ValidationError

from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.pipeline.ids import cursor_id, entry_id, offset_ids, with_id_field
from logproc.sinks.base import Delivery, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.file.config import FileSinkConfig
from logproc.sinks.formats import format_json
from logproc.sinks.http import formatter as http_formatter
from logproc.sinks.http.config import HttpSinkConfig
from logproc.sinks.http.encoders.elasticsearch import body, is_duplicate
from logproc.sinks.http.sink import HttpSink
from logproc.sources.file.lines import LineSplitter
from logproc.sources.file.multiline import MultilineSplitter
from logproc.testing import FakeElasticsearch

IDENT = "3f2a9c01d4e5b678"


def split_all(splitter, data: bytes, cuts: list[int]) -> list[tuple[bytes, int]]:  # type: ignore[no-untyped-def]
    """(line, offset) for `data` fed in pieces at `cuts`, then flushed."""
    out, pos = [], 0
    for cut in [*cuts, len(data)]:
        split = splitter.feed(data[pos:cut], pos)
        assert split.offsets is not None and len(split.offsets) == len(split.lines)
        out += zip(split.lines, split.offsets, strict=True)
        pos = cut
    split = splitter.flush()
    out += zip(split.lines, split.offsets or [], strict=True)
    return out


# -- the format ------------------------------------------------------------------------------
def test_an_id_is_the_ident_and_the_offset_in_hex() -> None:
    assert entry_id(IDENT, 0) == f"{IDENT}-0"
    assert entry_id(IDENT, 0x1A2B) == f"{IDENT}-1a2b"
    assert offset_ids([b"a", b"b"], [0, 2], IDENT) == [f"{IDENT}-0", f"{IDENT}-2"]
    assert offset_ids([b"a"], None, IDENT) is None  # no offsets: no ids
    assert all(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", i) for i in offset_ids([b"x"], [2**63], IDENT) or [])


def test_a_journal_id_is_its_cursor_and_only_a_safe_one() -> None:
    cursor = "s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8;m=139b1ba5;t=50e2d3;x=7ca1"
    assert cursor_id(b'{"__CURSOR":"%s","MESSAGE":"m"}' % cursor.encode()) == cursor
    assert cursor_id(b'{ "__CURSOR" : "%s" }' % cursor.encode()) == cursor  # other spacing: decoded
    assert cursor_id(b'{"MESSAGE":"no cursor"}') == ""
    assert cursor_id(b'{"__CURSOR":"a}},b"}') == ""  # never breaks a bulk action or a header
    assert cursor_id(b"not json") == ""


# -- offsets ---------------------------------------------------------------------------------
def test_offsets_skip_empty_lines_and_crlf_and_nuls() -> None:
    data = b"one\r\n\n\r\ntwo\n\0\0three\r\nfour"
    got = split_all(LineSplitter(100, offsets=True), data, [])
    assert got == [(b"one", 0), (b"two", 8), (b"three", 14), (b"four", 21)]
    assert all(data.startswith(line, off) for line, off in got)


def test_a_cut_piece_has_its_own_first_bytes_offset() -> None:
    """Not the line's offset plus a part number: after a restart inside the line, the rest
    is read as a line of its own from that position, and must keep its id."""
    data = b"short\n" + b"x" * 10 + b"y" * 10 + b"z" * 5 + b"\nend\n"
    got = split_all(LineSplitter(10, offsets=True), data, [])
    assert got == [(b"short", 0), (b"x" * 10, 6), (b"y" * 10, 16), (b"z" * 5, 26), (b"end", 32)]
    resumed = LineSplitter(10, offsets=True)  # a restart at the checkpoint after the 2nd piece
    after = resumed.feed(data[26:], 26)
    assert list(zip(after.lines, after.offsets or [], strict=True)) == [(b"z" * 5, 26), (b"end", 32)]


@pytest.mark.parametrize("seed", range(3))
def test_offsets_do_not_depend_on_how_the_file_was_read(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(400):
        data = b"".join(rnd.choice([b"a", b"bc", b"\n", b"\r\n", b"\0", "é".encode()])
                        for _ in range(rnd.randint(0, 80)))
        limit = rnd.randint(2, 9)
        whole = split_all(LineSplitter(limit, offsets=True), data, [])
        cuts = sorted(rnd.sample(range(len(data) + 1), min(len(data) + 1, rnd.randint(1, 8))))
        assert split_all(LineSplitter(limit, offsets=True), data, cuts) == whole
        assert all(data.startswith(line, off) for line, off in whole)


def test_no_offsets_unless_asked() -> None:
    assert LineSplitter(100).feed(b"a\nb\n").offsets is None
    assert MultilineSplitter(r"\S", 100).feed(b"a\n b\nc\n").offsets is None


def test_a_multiline_entry_has_its_first_lines_offset() -> None:
    data = b"E1 start\n  more\n\nE2\r\n  x\n\0\0E3\n"
    got = split_all(MultilineSplitter(r"E\d", 1000, offsets=True), data, [])
    assert got == [(b"E1 start\n  more", 0), (b"E2\n  x", 17), (b"E3", 27)]
    for cuts in ([3], [9, 17], [20, 26, 28]):
        assert split_all(MultilineSplitter(r"E\d", 1000, offsets=True), data, cuts) == got


def test_pieces_of_a_long_multiline_entry_have_their_own_offsets() -> None:
    data = b"E1 " + b"a" * 20 + b"\n b\nE2\n"
    got = split_all(MultilineSplitter(r"E\d", 10, offsets=True), data, [])
    assert [off for _, off in got] == [0, 10, 20, 27]
    assert b"".join(line for line, _ in got[:3]) == data[:26]


# -- idents in the checkpoint store ----------------------------------------------------------
def test_records_get_an_ident_written_before_use_and_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = CheckpointStore(tmp_path)
    store.load()
    rec = FileCheckpoint(1, 2, 0, "", 0, "/l/a.log", "app")
    store.put(rec)
    assert re.fullmatch(r"[0-9a-f]{16}", rec.ident)
    assert store.unsaved_idents
    store.save_idents()
    assert not store.unsaved_idents
    doc = orjson.loads((tmp_path / "checkpoints.json").read_bytes())
    assert doc["version"] == 2 and doc["files"][0]["ident"] == rec.ident
    store.update(rec, ino=3, path="/l/a.log.1.gz", fmt="gzip")  # an archive continues it: same ident
    store.commit()
    again = CheckpointStore(tmp_path)
    again.load()
    found = again.get("1:3")
    assert found is not None and found.ident == rec.ident and not again.unsaved_idents


def test_a_record_written_without_an_ident_gets_one_at_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = {"version": 2, "written": 1.0, "cursors": [], "files": [
        {"dev": 1, "ino": 2, "fp_len": 3, "fp": "abc", "offset": 42, "path": "/x.log", "source": "app"}]}
    (tmp_path / "checkpoints.json").write_bytes(orjson.dumps(old))
    store = CheckpointStore(tmp_path)
    store.load()
    rec = store.get("1:2")
    assert rec is not None and len(rec.ident) == 16 and store.unsaved_idents and store.dirty
    assert store.commit() is True
    assert orjson.loads((tmp_path / "checkpoints.json").read_bytes())["files"][0]["ident"] == rec.ident


# -- id_field --------------------------------------------------------------------------------
def test_id_field_adds_the_id_to_copies_and_leaves_entries_without_one_alone() -> None:
    entries = [{"message": "a"}, {"message": "b", "id": "theirs"}, {"message": "c"}]
    fmt = with_id_field(format_json, "id", False)
    out = [json.loads(x) for x in fmt(entries, [], ["i1", "i2", ""]).splitlines()]
    assert out == [{"message": "a", "id": "i1"}, {"message": "b", "id": "i2"}, {"message": "c"}]
    assert entries[0] == {"message": "a"}  # other sinks see the entries unchanged
    assert fmt(entries, [], None) == format_json(entries, [])  # no identity: no field


def test_id_field_is_a_field_name_and_not_for_raw_lines() -> None:
    assert FileSinkConfig(type="file", path="/tmp/x", id_field="log.id").id_field == "log.id"
    for bad in ({"id_field": ""}, {"id_field": "a b"}, {"id_field": "id", "format": "raw"}):
        with pytest.raises(ValidationError):
            FileSinkConfig(type="file", path="/tmp/x", **bad)  # type: ignore[arg-type]


# -- elasticsearch ---------------------------------------------------------------------------
def _es(url: str = "http://127.0.0.1:9/_bulk", **kw: object) -> HttpSinkConfig:
    return HttpSinkConfig(type="http", url=url, encoding="elasticsearch", **kw)  # type: ignore[arg-type]


def _entries(n: int) -> list[dict[str, object]]:
    return [{"timestamp": "2026-11-24T04:00:00Z", "message": f"seq={i}, with a comma"} for i in range(n)]


def test_elasticsearch_action_carries_the_id_and_the_body_splits_it_off() -> None:
    ids = [f"{IDENT}-{i:x}" for i in range(3)]
    units = http_formatter(_es())(_entries(3), [], [ids[0], "", ids[2]])
    lines = [json.loads(x) for x in body([units]).splitlines()]
    assert lines[0] == {"create": {"_index": "logproc-2026.11.24", "_id": ids[0]}}
    assert lines[2] == {"create": {"_index": "logproc-2026.11.24"}}  # no id: Elasticsearch makes one
    assert lines[4]["create"]["_id"] == ids[2] and lines[5]["message"] == "seq=2, with a comma"
    action, doc = json.loads(units.splitlines()[0])  # a unit is still a JSON array
    assert action["create"]["_id"] == ids[0] and doc["@timestamp"] == "2026-11-24T04:00:00Z"
    indexed = json.loads(body([http_formatter(_es(action="index"))(_entries(1), [], ids[:1])]).splitlines()[0])
    assert indexed == {"index": {"_index": "logproc-2026.11.24", "_id": ids[0]}}


def test_a_409_under_create_is_a_duplicate_others_are_not() -> None:
    assert is_duplicate(409, '{"create":{"status":409}}')
    assert not is_duplicate(409, '{"index":{"status":409}}')
    assert not is_duplicate(400, '{"create":{"status":400}}')


@pytest.mark.timeout(30)
def test_a_resent_batch_is_counted_as_duplicates_not_dead_lettered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with FakeElasticsearch() as es:
        c = _es(es.url(), retry_max_backoff=0.2)
        sink = HttpSink("es", c, DeadLetters(tmp_path))
        fmt = http_formatter(c)
        ids = [f"{IDENT}-{i:x}" for i in range(5)]
        payload = fmt(_entries(5), [], ids)
        sink.write([Delivery("app", payload, 5, noop)])
        sink.write([Delivery("app", fmt(_entries(7), [], [*ids, f"{IDENT}-5", f"{IDENT}-6"]), 7, noop)])
        sink.close()
        assert sorted(d["_id"] for d in es.documents()) == sorted([*ids, f"{IDENT}-5", f"{IDENT}-6"])
    assert (sink.duplicates, es.conflicts, sink.dead_lettered) == (5, 5, 0)
    assert not (tmp_path / "dead-letter.jsonl").exists()
