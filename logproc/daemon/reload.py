"""Reload, the daemon's half: a new config against the running one.

The supervisor calls `apply` on SIGHUP or an edit of the config file (`watch_config`),
with the new config already loaded and validated in full. The difference by source and
sink name goes to the pipeline (`Pipeline.apply`, see `logproc.pipeline.reload` for the
protocol: nothing lost, nothing read twice). `[daemon]` settings other than `log_level`
take effect at the next start only (logged when they differ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logproc import log as logsetup
from logproc.log import get_logger
from logproc.pipeline.diff import ConfigDiff

if TYPE_CHECKING:
    from logproc.config.loader import LoadedConfig
    from logproc.pipeline.pipeline import Pipeline, Wait

log = get_logger("reload")


def apply(pipeline: Pipeline, new: LoadedConfig, wait: Wait) -> str:
    """Apply `new`: "ok", or why it was abandoned ("deadline", or "signal": a shutdown
    request arrived during the reload, which the caller carries out)."""
    old = pipeline.loaded
    diff = ConfigDiff.between(old.config, new.config)
    if diff.empty:
        pipeline.topo.loaded = new
        _daemon_settings(old.config, new)
        log.info("reloaded: nothing to change")
        return "ok"
    outcome = pipeline.apply(diff, new, wait)
    if outcome == "ok":
        _daemon_settings(old.config, new)
        log.info("reloaded", **diff.summary())
    return outcome


def _daemon_settings(old: Any, loaded: LoadedConfig) -> None:
    new = loaded.config
    logsetup.set_mask(loaded.mask)
    if new.daemon.log_level != old.daemon.log_level:
        logsetup.configure(new.daemon.log_level)
    for key in type(old.daemon).model_fields:
        if key != "log_level" and getattr(old.daemon, key) != getattr(new.daemon, key):
            log.warning("daemon setting changed; it takes effect at the next start", key=f"daemon.{key}")
