"""Field transforms: rename, drop_fields, fields (static values)."""

from __future__ import annotations

from typing import Any

from logproc.transforms.fields import build_drop_fields, build_rename, build_static_fields


def entry() -> dict[str, Any]:
    return {"timestamp": "2024-05-01T00:00:00Z", "level": "info", "message": "m", "msg2": "x",
            "user": "bob", "source": "app", "file": "/f", "host": "h"}


class TestRename:
    def test_keeps_position(self) -> None:
        """A renamed field stays where it was."""
        rename = build_rename({"user": "user_name", "msg2": "detail"})
        assert rename is not None
        entries = [entry()]
        rename(entries)
        assert list(entries[0].items()) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("level", "info"), ("message", "m"),
            ("detail", "x"), ("user_name", "bob"), ("source", "app"), ("file", "/f"), ("host", "h"),
        ]

    def test_onto_an_earlier_key(self) -> None:
        """Renaming onto an existing earlier key: the renamed value wins, at that key's place."""
        rename = build_rename({"msg2": "message"})
        assert rename is not None
        entries = [entry()]
        rename(entries)
        assert list(entries[0].items()) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("level", "info"), ("message", "x"),
            ("user", "bob"), ("source", "app"), ("file", "/f"), ("host", "h"),
        ]

    def test_onto_a_later_key(self) -> None:
        """Renaming onto an existing later key: the renamed value wins, at the first place."""
        rename = build_rename({"level": "user"})
        assert rename is not None
        entries = [entry()]
        rename(entries)
        assert list(entries[0].items()) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("user", "info"), ("message", "m"), ("msg2", "x"),
            ("source", "app"), ("file", "/f"), ("host", "h"),
        ]

    def test_swap_is_not_chained(self) -> None:
        """a→b and b→a swap names; renames do not chain."""
        rename = build_rename({"a": "b", "b": "a"})
        assert rename is not None
        entries: list[dict[str, Any]] = [{"a": 1, "b": 2}]
        rename(entries)
        assert list(entries[0].items()) == [("b", 1), ("a", 2)]

    def test_absent_key_leaves_entry_untouched(self) -> None:
        """An entry without the old name is the same object afterwards."""
        rename = build_rename({"nope": "other"})
        assert rename is not None
        original = entry()
        entries = [original]
        rename(entries)
        assert entries[0] is original

    def test_not_configured(self) -> None:
        """An empty rename builds nothing."""
        assert build_rename({}) is None


class TestDropFields:
    def test_drops_present_fields(self) -> None:
        """Named fields go (metadata included); absent names are ignored."""
        drop = build_drop_fields(["user", "file", "absent", "user"])
        assert drop is not None
        entries = [entry()]
        drop(entries)
        assert list(entries[0].items()) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("level", "info"), ("message", "m"), ("msg2", "x"),
            ("source", "app"), ("host", "h"),
        ]

    def test_not_configured(self) -> None:
        """An empty list builds nothing."""
        assert build_drop_fields([]) is None


class TestStaticFields:
    def test_static_values_win(self) -> None:
        """Existing keys keep their place with the static value; new keys go last."""
        static = build_static_fields({"host": "bench", "service": "api", "shard": 3, "canary": False})
        assert static is not None
        entries = [entry(), {"message": "n"}]
        static(entries)
        assert list(entries[0].items()) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("level", "info"), ("message", "m"), ("msg2", "x"),
            ("user", "bob"), ("source", "app"), ("file", "/f"), ("host", "bench"), ("service", "api"),
            ("shard", 3), ("canary", False),
        ]
        assert list(entries[1].items()) == [
            ("message", "n"), ("host", "bench"), ("service", "api"), ("shard", 3), ("canary", False),
        ]

    def test_not_configured(self) -> None:
        """No static fields builds nothing."""
        assert build_static_fields({}) is None
