"""The config file: loading, validation, and the models the rest of logproc reads.

`load(path)` / `load_text(text, path)` return a `LoadedConfig` (the validated `Config`, the
file's absolute path, the secrets from `${NAME}` and `mask()` to hide them) or raise
`logproc.errors.ConfigErrors` with every problem found. `logproc.config.report.describe`
renders a loaded config for `logproc check` (kept out of this module: it reads the disk).
"""

from logproc.config.load import LoadedConfig, load, load_text
from logproc.config.schema import (
    Config,
    DaemonConfig,
    FileSinkConfig,
    SinkBase,
    SinkConfig,
    SourceConfig,
    StdoutSinkConfig,
)

__all__ = [
    "Config",
    "DaemonConfig",
    "FileSinkConfig",
    "LoadedConfig",
    "SinkBase",
    "SinkConfig",
    "SourceConfig",
    "StdoutSinkConfig",
    "load",
    "load_text",
]
