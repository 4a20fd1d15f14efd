"""What a reload changes: the difference between two configs, by source and sink name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _names(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    removed = [n for n in old if n not in new]
    added = [n for n in new if n not in old]
    changed = [n for n in new if n in old and new[n] != old[n]]
    return removed, added, changed


@dataclass(frozen=True)
class ConfigDiff:
    sources_removed: list[str]
    sources_added: list[str]
    sources_changed: list[str]
    sinks_removed: list[str]
    sinks_added: list[str]
    sinks_changed: list[str]

    @classmethod
    def between(cls, old: Any, new: Any) -> ConfigDiff:
        """The difference from config `old` to config `new` (`[daemon]` aside)."""
        return cls(*_names(dict(old.sources), dict(new.sources)), *_names(dict(old.sinks), dict(new.sinks)))

    @property
    def routes_changed(self) -> bool:
        """Sinks, or what reaches them, change: routes and worker processes are rebuilt."""
        return bool(self.sinks_removed or self.sinks_added or self.sinks_changed
                    or self.sources_added or self.sources_changed)

    @property
    def empty(self) -> bool:
        return not (self.sources_removed or self.routes_changed)

    def summary(self) -> dict[str, list[str]]:
        """For the log line: what was added, removed and changed."""
        return {"sources_added": self.sources_added, "sources_removed": self.sources_removed,
                "sources_changed": self.sources_changed, "sinks_added": self.sinks_added,
                "sinks_removed": self.sinks_removed, "sinks_changed": self.sinks_changed}
