"""Every sink kind logproc has, by its config `type`.

Adding a kind: a package under `logproc/sinks/` whose `__init__` defines `KIND` (a
`logproc.sinks.kind.SinkKind`), and its name on the line below. The order is the order
`logproc check` and config errors list the types in. The contract suite
(`tests/contract/test_sinks.py`) runs over every kind listed here.
"""

from __future__ import annotations

import importlib
from typing import Any

from logproc.sinks.kind import SinkKind

PACKAGES = ("stdout", "file", "http", "syslog", "kafka", "nats", "otlp")  # one name per sink kind

KINDS: dict[str, SinkKind] = {
    kind.name: kind
    for kind in (importlib.import_module(f"logproc.sinks.{p}").KIND for p in PACKAGES)
}


def kind_of(cfg: Any) -> SinkKind:
    """The kind of a sink's config (a model, or the plain values worker processes get)."""
    return KINDS[cfg.type]
