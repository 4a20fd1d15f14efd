"""The `journald` source: the systemd journal, read through a `journalctl -o json` child
(`journal`: the commands, cursors and probes; `child`: one journalctl process read with
deadlines; `source`: the thread, its start position, restarts and vacuum handling;
`report`: what `logproc check` says). Entries are parsed by the `journald` parser
(`logproc.transforms.parse_journald`) in the consumers, not in the source's thread."""

from __future__ import annotations

from typing import Any

from logproc.sources.base import Source
from logproc.sources.journald.config import JournaldSourceConfig
from logproc.sources.journald.report import describe
from logproc.sources.kind import SourceContext, SourceKind


def build(name: str, cfg: Any, ctx: SourceContext) -> Source:
    from logproc.sources.journald.source import JournaldSource
    return JournaldSource(name, cfg, ctx)


KIND = SourceKind("journald", JournaldSourceConfig, build, parser=lambda cfg: "journald", ids="cursor",
                  describe=describe)
