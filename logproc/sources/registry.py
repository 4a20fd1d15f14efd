"""Every source kind logproc has, by its config `type`.

Adding a kind: a package under `logproc/sources/` whose `__init__` defines `KIND` (a
`logproc.sources.kind.SourceKind`), and its name on the line below. A source without
`type` is a `file` source. The contract test (`tests/contract/test_sources.py`) runs over
every kind listed here.
"""

from __future__ import annotations

import importlib
from typing import Any

from logproc.sources.kind import SourceKind

PACKAGES = ("file", "journald", "syslog")  # one name per source kind
DEFAULT_TYPE = "file"

KINDS: dict[str, SourceKind] = {
    kind.name: kind
    for kind in (importlib.import_module(f"logproc.sources.{p}").KIND for p in PACKAGES)
}


def kind_of(cfg: Any) -> SourceKind:
    """The kind of a source's config (a model, or the plain values worker processes get)."""
    return KINDS[getattr(cfg, "type", DEFAULT_TYPE)]
