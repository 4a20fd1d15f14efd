"""CheckpointStore and AckTracker: atomic, versioned, ack-gated and in file order."""

from __future__ import annotations

import os
import stat

import orjson

from logproc.batch import Batch
from logproc.checkpoints import CheckpointStore, FileCheckpoint
from logproc.daemon.acks import AckTracker


def _rec(offset: int = 0) -> FileCheckpoint:
    return FileCheckpoint(1, 2, 3, "abc", offset, "/x.log", "app")


class TestCheckpointStore:
    def test_commit_is_versioned_private_and_reloads(self, tmp_path):
        """A commit writes a versioned 0600 document that a new store reads back."""
        store = CheckpointStore(tmp_path)
        store.load()
        store.put(_rec(10))
        store.advance("1:2", 42)
        assert store.commit() is True
        assert store.commit() is False  # nothing changed
        doc = orjson.loads((tmp_path / "checkpoints.json").read_bytes())
        assert doc["version"] == 1
        assert stat.S_IMODE(os.stat(tmp_path / "checkpoints.json").st_mode) == 0o600
        again = CheckpointStore(tmp_path)
        again.load()
        rec = again.get("1:2")
        assert rec is not None and rec.offset == 42

    def test_offsets_never_move_back_and_stale_generations_are_ignored(self, tmp_path):
        """advance only moves forward; after a reset, an older generation's ack is void."""
        store = CheckpointStore(tmp_path)
        rec = _rec(100)
        store.put(rec)
        store.advance("1:2", 50)
        assert rec.offset == 100
        store.reset(rec, gen=1)
        store.advance("1:2", 150, gen=0)
        assert rec.offset == 0
        store.advance("1:2", 20, gen=1)
        assert rec.offset == 20

    def test_corrupt_file_falls_back_to_the_previous_generation(self, tmp_path):
        """A half-written checkpoint file is reported and the previous good one used."""
        store = CheckpointStore(tmp_path)
        store.put(_rec(10))
        store.commit()
        store.advance("1:2", 20)
        store.commit()
        (tmp_path / "checkpoints.json").write_bytes(b'{"version": 1, "files": [{"dev"')
        again = CheckpointStore(tmp_path)
        again.load()
        assert again.read_failures == 1
        rec = again.get("1:2")
        assert rec is not None and rec.offset == 10


class TestAckTracker:
    def _batch(self, start: int, end: int) -> Batch:
        return Batch("app", "1:2", "/x.log", [b"l"], start, end, 0.0)

    def test_offset_advances_only_when_every_sink_acked_and_in_order(self, tmp_path):
        """Out-of-order acks hold the offset until the earlier batch is complete."""
        store = CheckpointStore(tmp_path)
        rec = _rec(0)
        store.put(rec)
        tracker = AckTracker(store)
        first = tracker.open(self._batch(0, 10), sinks=2)
        second = tracker.open(self._batch(10, 20), sinks=1)
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
        AckTracker(store).open(self._batch(0, 7), sinks=0)
        assert rec.offset == 7
