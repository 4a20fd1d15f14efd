"""CheckpointStore and AckTracker: atomic, versioned, ack-gated and in file order."""

from __future__ import annotations

import os
import stat

import orjson
import structlog

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.pipeline.acks import AckTracker


def _rec(offset: int = 0) -> FileCheckpoint:
    return FileCheckpoint(1, 2, 3, "abc", offset, "/x.log", "app")


class TestCheckpointStore:
    def test_a_record_displaced_by_a_reused_inode_is_kept_aside(self, tmp_path):
        """A deleted file's checkpoint whose inode a new file takes stays listed (gone) and
        persisted, so an archive of its content can continue it; reindexed when it is."""
        store = CheckpointStore(tmp_path)
        store.load()
        deleted = FileCheckpoint(1, 7, 100, "fp-old", 80, "/l/app.log.1", "app")
        store.put(deleted)
        reuser = FileCheckpoint(1, 7, 10, "fp-new", 0, "/l/app.log", "app")
        store.put(reuser)
        assert store.get("1:7") is reuser
        assert deleted in store.records() and deleted.gone_since > 0
        store.commit()
        again = CheckpointStore(tmp_path)
        again.load()
        assert [(r.fp, r.key) for r in again.records()] == [("fp-new", "1:7"), ("fp-old", "1:7")]
        old = next(r for r in again.records() if r.fp == "fp-old")
        again.update(old, ino=9, path="/l/app.log.1.gz", gone_since=0.0)  # its archive found
        assert again.get("1:9") is old and again.get("1:7").fp == "fp-new"
        assert len(again.records()) == 2

    def test_a_record_that_read_nothing_is_not_kept_aside(self, tmp_path):
        store = CheckpointStore(tmp_path)
        store.load()
        store.put(FileCheckpoint(1, 7, 0, "e", 0, "/l/a.log", "app"))
        store.put(FileCheckpoint(1, 7, 3, "f", 0, "/l/b.log", "app"))
        assert [r.path for r in store.records()] == ["/l/b.log"]

    def test_commit_is_versioned_private_and_reloads(self, tmp_path):
        """A commit writes a versioned 0600 document that a new store reads back."""
        store = CheckpointStore(tmp_path)
        store.load()
        rec = _rec(10)
        store.put(rec)
        store.advance(rec, 42, "t")
        assert store.commit() is True
        assert store.commit() is False  # nothing changed
        doc = orjson.loads((tmp_path / "checkpoints.json").read_bytes())
        assert doc["version"] == 2 and doc["cursors"] == []
        assert stat.S_IMODE(os.stat(tmp_path / "checkpoints.json").st_mode) == 0o600
        again = CheckpointStore(tmp_path)
        again.load()
        rec = again.get("1:2")
        assert rec is not None and rec.offset == 42

    def test_a_version_1_file_is_migrated_on_first_start(self, tmp_path):
        """The format before there were journal cursors is read, and written anew at once
        (the first commit, even with nothing acknowledged since)."""
        old = {"version": 1, "written": 1.0, "files": [
            {"dev": 1, "ino": 2, "fp_len": 3, "fp": "abc", "offset": 42, "path": "/x.log", "source": "app",
             "tail_hash": "t", "updated": 5.0, "size": 50, "gone_since": 0.0}]}
        (tmp_path / "checkpoints.json").write_bytes(orjson.dumps(old))
        store = CheckpointStore(tmp_path)
        with structlog.testing.capture_logs() as logs:
            store.load()
        assert [(e["event"], e["version"], e["new_version"]) for e in logs] == [
            ("checkpoint file migrated; it is written in the new format from now on", 1, 2)]
        rec = store.get("1:2")
        assert rec is not None and (rec.offset, rec.tail_hash, rec.size) == (42, "t", 50)
        assert store.commit() is True
        doc = orjson.loads((tmp_path / "checkpoints.json").read_bytes())
        assert doc["version"] == 2 and doc["cursors"] == []
        assert [(f["ino"], f["offset"], f["path"]) for f in doc["files"]] == [(2, 42, "/x.log")]

    def test_a_cursor_moves_with_acknowledgements_and_survives_a_restart(self, tmp_path):
        store = CheckpointStore(tmp_path)
        store.load()
        cur = store.cursor("journal")
        assert store.cursor("journal") is cur and cur.cursor == ""
        store.advance(cur, "s=1;i=5", "")
        store.advance(cur, "s=1;i=5", "")  # the same cursor again: no change
        assert store.dirty and store.commit() is True and store.commit() is False
        store.advance(cur, "s=1;i=9", "")
        store.commit()
        again = CheckpointStore(tmp_path)
        again.load()
        assert again.cursor("journal").cursor == "s=1;i=9"
        assert again.acked == {}  # cursors are not bytes
        doc = orjson.loads((tmp_path / "checkpoints.json").read_bytes())
        assert [(c["source"], c["cursor"]) for c in doc["cursors"]] == [("journal", "s=1;i=9")]

    def test_offsets_never_move_back_and_replaced_records_are_orphans(self, tmp_path):
        """advance only moves forward; acks for a record replaced in the index (its file was
        truncated) no longer reach the persisted state."""
        store = CheckpointStore(tmp_path)
        rec = _rec(100)
        store.put(rec)
        store.advance(rec, 50, "t")
        assert rec.offset == 100
        fresh = _rec(0)
        store.put(fresh)
        store.advance(rec, 150, "t")
        store.commit()
        again = CheckpointStore(tmp_path)
        again.load()
        reloaded = again.get("1:2")
        assert reloaded is not None and reloaded.offset == 0

    def test_update_rekeys_a_record_and_acks_follow_it(self, tmp_path):
        """A record moved to its copy's identity keeps receiving its batches' acks."""
        store = CheckpointStore(tmp_path)
        rec = _rec(10)
        store.put(rec)
        store.update(rec, dev=1, ino=99, path="/x.log.1")
        assert store.get("1:2") is None
        store.advance(rec, 30, "t")
        moved = store.get("1:99")
        assert moved is rec and moved.offset == 30

    def test_corrupt_file_falls_back_to_the_previous_generation(self, tmp_path):
        """A half-written checkpoint file is reported and the previous good one used."""
        store = CheckpointStore(tmp_path)
        rec = _rec(10)
        store.put(rec)
        store.commit()
        store.advance(rec, 20, "t")
        store.commit()
        (tmp_path / "checkpoints.json").write_bytes(b'{"version": 1, "files": [{"dev"')
        again = CheckpointStore(tmp_path)
        again.load()
        assert again.read_failures == 1
        rec = again.get("1:2")
        assert rec is not None and rec.offset == 10


class TestAckTracker:
    def _batch(self, rec: FileCheckpoint, start: int, end: int) -> Batch:
        return Batch("app", "stream", "/x.log", [b"l"], start, end, 0.0, record=rec)

    def test_offset_advances_only_when_every_sink_acked_and_in_order(self, tmp_path):
        """Out-of-order acks hold the offset until the earlier batch is complete."""
        store = CheckpointStore(tmp_path)
        rec = _rec(0)
        store.put(rec)
        tracker = AckTracker(store)
        first = tracker.open(self._batch(rec, 0, 10), sinks=2)
        second = tracker.open(self._batch(rec, 10, 20), sinks=1)
        second.ack()
        assert rec.offset == 0
        first.ack()
        assert rec.offset == 0  # one sink still owes an ack for the first batch
        first.ack()
        assert rec.offset == 20

    def test_batch_routed_nowhere_completes_at_once(self, tmp_path):
        """A batch every sink filtered out moves the offset past it immediately."""
        store = CheckpointStore(tmp_path)
        rec = _rec(0)
        store.put(rec)
        AckTracker(store).open(self._batch(rec, 0, 7), sinks=0)
        assert rec.offset == 7
