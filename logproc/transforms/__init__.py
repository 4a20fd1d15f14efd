"""The entry pipeline of a source: parse, then ``rename``, ``drop_fields``, ``fields``, ``redact``.

``build_source_pipeline(name, cfg, host)`` decides everything once (parser, zone, which
transforms exist, compiled regexes) and returns
``pipeline(lines, parts, path, read_time) -> (entries, n_parse_errors)``:

- ``lines``: complete lines, no ``\\n``, no trailing ``\\r``, never empty;
- ``parts``: None, or aligned with ``lines``: 0 for a whole line, k ≥ 1 for the k-th piece of
  a line cut at ``max_line_bytes`` (the entry then carries ``line_part = k``);
- ``path``: the file read; ``read_time``: epoch seconds when the batch was read.

It returns exactly one entry per line, in order (a line that does not parse is an entry with
``parse_error``), so entries stay aligned with the raw lines. Key order: ``timestamp``,
``level``, ``message``, parser fields, ``source``, ``file``, ``host``, ``line_part``,
``parse_error``; then the transforms apply in the order above.

Each step is a closure over the whole batch; unconfigured transforms are not in the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from logproc.transforms.base import Entry, Parser, SourcePipeline, Transform
from logproc.transforms.fields import build_drop_fields, build_rename, build_static_fields
from logproc.transforms.parse_access import build_access_parser
from logproc.transforms.parse_journald import build_journald_parser
from logproc.transforms.parse_json import build_json_parser
from logproc.transforms.parse_logfmt import build_logfmt_parser
from logproc.transforms.parse_plain import build_plain_parser
from logproc.transforms.parse_regex import build_regex_parser
from logproc.transforms.parse_syslog import build_syslog_parser
from logproc.transforms.redact import build_redact
from logproc.transforms.timestamps import resolve_tz

__all__ = ["PARSERS", "Entry", "SourcePipeline", "build_parser", "build_source_pipeline"]

#: parser name -> builder(source name, source config, host, zone). A new parser is one entry.
PARSERS: dict[str, Callable[[str, Any, str, tzinfo | None], Parser]] = {
    "plain": lambda name, cfg, host, tz: build_plain_parser(name, host),
    "json": lambda name, cfg, host, tz: build_json_parser(name, host, tz),
    "logfmt": lambda name, cfg, host, tz: build_logfmt_parser(name, host, tz),
    "regex": lambda name, cfg, host, tz: build_regex_parser(name, host, tz, cfg.pattern),
    "syslog": lambda name, cfg, host, tz: build_syslog_parser(name, host, tz),
    "combined": lambda name, cfg, host, tz: build_access_parser(name, host, combined=True),
    "common": lambda name, cfg, host, tz: build_access_parser(name, host, combined=False),
    "journald": lambda name, cfg, host, tz: build_journald_parser(name, host),
}

_MISSING: Any = object()


def build_parser(name: str, cfg: Any, host: str, parser: str | None = None) -> Parser:
    """The parser of source ``name``: ``parser``, or the config's own (reads ``parser``,
    ``pattern``, ``timezone`` when the source has one)."""
    kind = parser or cfg.parser
    try:
        builder = PARSERS[kind]
    except KeyError:
        raise ValueError(f"unknown parser {kind!r}") from None
    return builder(name, cfg, host, resolve_tz(getattr(cfg, "timezone", "local")))


def build_source_pipeline(name: str, cfg: Any, host: str, parser: str | None = None) -> SourcePipeline:
    """The pipeline of source ``name``; ``host`` is this machine's name; ``parser`` the
    source kind's parser (see ``logproc.sources.kind``), by default the config's.

    Reads ``parser``, ``pattern``, ``timezone``, ``rename``, ``drop_fields``, ``fields`` and
    ``redact`` from ``cfg``. Raises ``ValueError`` (or ``re.error``, ``KeyError`` for an
    unknown zone) for what the config schema should already have refused.
    """
    parse = build_parser(name, cfg, host, parser)
    steps: tuple[Transform, ...] = tuple(
        step
        for step in (
            build_rename(cfg.rename),
            build_drop_fields(cfg.drop_fields),
            build_static_fields(cfg.fields),
            build_redact(cfg.redact),
        )
        if step is not None
    )

    def pipeline(
        lines: list[bytes], parts: list[int] | None, path: str, read_time: float
    ) -> tuple[list[Entry], int]:
        entries, n_bad = parse(lines, path, read_time)
        if parts is not None:
            _mark_parts(entries, parts)
        for step in steps:
            step(entries)
        return entries, n_bad

    return pipeline


def _mark_parts(entries: list[Entry], parts: list[int]) -> None:
    """Add ``line_part`` to the pieces of cut lines, before ``parse_error`` when present."""
    for entry, part in zip(entries, parts, strict=True):
        if part:
            error = entry.pop("parse_error", _MISSING)
            entry["line_part"] = part
            if error is not _MISSING:
                entry["parse_error"] = error
