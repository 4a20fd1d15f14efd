"""What the consumers run for a sink, decided from its config alone.

Used by the daemon (`daemon.topology`) and by worker processes (`daemon.procworker`,
which get the sink's config as plain values), so both build the same functions:

- `formatter_for(cfg)`: the sink's format, or its wire encoding's per-entry half (http,
  syslog); network sinks are imported only when a config uses them;
- `needs_entries_for(cfg)`: False when the sink takes raw lines with no filter (its
  sources may skip parsing); http and syslog always read fields (labels, index date,
  severity);
- `raw_only_for(cfg)`: the formatter reads raw lines only.
"""

from __future__ import annotations

from typing import Any

from logproc.sinks.formats import build_formatter, needs_entries


def formatter_for(cfg: Any) -> Any:
    if cfg.type == "http":
        from logproc.sinks.http import build_http_formatter
        return build_http_formatter(cfg)
    if cfg.type == "syslog":
        from logproc.sinks.syslog import build_syslog_formatter
        return build_syslog_formatter(cfg)
    return build_formatter(cfg)


def needs_entries_for(cfg: Any) -> bool:
    return cfg.type in ("http", "syslog") or needs_entries(cfg)


def raw_only_for(cfg: Any) -> bool:
    return not needs_entries_for(cfg) or (cfg.format == "raw" and cfg.type in ("stdout", "file"))
