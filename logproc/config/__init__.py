"""The config file: loading, validation, and the models the rest of logproc reads.

`load(path)` / `load_text(text, path)` return a `LoadedConfig` (the validated `Config`, the
file's absolute path, the secrets from `${NAME}` and `mask()` to hide them) or raise
`logproc.errors.ConfigErrors` with every problem found. `logproc.config.report.describe`
renders a loaded config for `logproc check` (kept out of this module: it reads the disk).

The names below are imported on first use: the component packages import
`logproc.config.fields` for their models, and the schema imports those packages (its
unions are built from the registries), so this package must not import the schema when
it is itself imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logproc.config.loader import LoadedConfig, load, load_text
    from logproc.config.schema import Config, DaemonConfig

__all__ = ["Config", "DaemonConfig", "LoadedConfig", "load", "load_text"]

_WHERE = {"Config": "schema", "DaemonConfig": "schema", "LoadedConfig": "loader", "load": "loader",
          "load_text": "loader"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"logproc.config.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
