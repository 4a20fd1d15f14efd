"""The config file's model: pydantic v2, frozen, unknown keys forbidden.

Contract:
- Field names and defaults here and in the component models are the config file's keys
  and defaults; every key has a `description` (the reference in docs/ is generated from
  them).
- The `[sources.*]` and `[sinks.*]` tables are unions on `type`, built from the registries
  (`logproc.sources.registry`, `logproc.sinks.registry`): each kind's model lives in its
  package (`sources/<kind>/config.py`, `sinks/<kind>/config.py`). A source without `type`
  is a `file` source, so configs written before there were other kinds keep working.
- Every check that needs only one model's own values lives on the model, as a validator
  that raises `ValueError` with an operator-facing message (see `config.fields`). Checks
  across models (a sink's `inputs` naming sources, a file sink's `{source}` placement) run
  on the raw data in `logproc.config.loader`, so they report even when the model fails.
- The loader validates with `strict=True`: TOML has real types, so `queue_size = "10"` is
  a mistake worth reporting, not something to coerce. `state_dir` takes a string.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from logproc.config.fields import FolderPath, ListenAddress, Name
from logproc.sinks.base import SinkBase
from logproc.sinks.registry import KINDS as SINK_KINDS
from logproc.sources.base import SourceBase
from logproc.sources.registry import DEFAULT_TYPE
from logproc.sources.registry import KINDS as SOURCE_KINDS


class DaemonConfig(BaseModel):
    """The `[daemon]` table: settings of the process as a whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: FolderPath = Field(
        default=Path("/var/lib/logproc"), description="Checkpoints, dead letters and the control "
        "socket; created if missing (mode 0700), refused when others may write to it.")
    queue_size: int = Field(
        default=10000, ge=1, le=10_000_000, description="Bound on entries read but not yet handed to "
        "the sinks; a source waits when it is reached (memory is bounded by it, not by input size).")
    # absent: 2, or one more than the worker processes when those run (one batch in the
    # workers while the one before is handed to the sinks, and a third taken)
    consumers: int | None = Field(
        default=None, ge=1, le=64, description="Consumer threads taking batches off the queue; "
        "absent: 2, or one more than `workers` when worker processes run.")
    # absent: 2 on a machine with 2 CPUs or more when some source is parsed, else 0
    # (offload.pool.auto_workers)
    workers: int | None = Field(
        default=None, ge=0, le=64, description="Worker processes that parse and format (0: the "
        "consumer threads do it); absent: 2 on a machine with 2 CPUs or more when a source is parsed.")
    shutdown_timeout: float = Field(
        default=30, gt=0, le=86400, description="Seconds a graceful stop (SIGTERM, SIGINT) may take "
        "to drain, flush and commit; past it logproc exits 1 with consistent checkpoints.")
    checkpoint_interval: float = Field(
        default=1.0, gt=0, le=3600, description="Seconds between checkpoint commits.")
    max_open_files: int = Field(
        default=1024, ge=16, le=1_048_576, description="Descriptors the file sources may hold; above "
        "it idle files are closed and reopened by identity.")
    watch_config: bool = Field(default=True, description="Reload when the config file is edited (as SIGHUP).")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="The daemon's own log (stderr, or the journal under systemd).")
    metrics_address: ListenAddress = Field(
        default="127.0.0.1:9977", description='Where /metrics, /health and the status page listen; "" '
        "disables them.")


def _default_type(value: Any) -> Any:
    # `type` may be left out of a source: it is then a file source (the one kind there was).
    if isinstance(value, dict) and "type" not in value:
        return {"type": DEFAULT_TYPE, **value}
    return value


# The unions are built from the registries at import time; to mypy a sink config is a
# SinkBase and a source config a SourceBase (what code outside the kind may rely on).
if TYPE_CHECKING:
    SinkConfig = SinkBase
    SourceKindConfig = SourceBase
else:
    SinkConfig = Annotated[Union[tuple(k.config for k in SINK_KINDS.values())],  # noqa: UP007
                           Field(discriminator="type")]
    SourceKindConfig = Annotated[
        Annotated[Union[tuple(k.config for k in SOURCE_KINDS.values())],  # noqa: UP007
                  Field(discriminator="type")],
        BeforeValidator(_default_type)]


class Config(BaseModel):
    """The whole config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daemon: DaemonConfig = Field(default=DaemonConfig(), description="Settings of the process.")
    sources: dict[Name, SourceKindConfig] = Field(
        min_length=1, description="Where entries come from, by name (names appear in entries as `source`).")
    sinks: dict[Name, SinkConfig] = Field(min_length=1, description="Where entries go, by name.")
