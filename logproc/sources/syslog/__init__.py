"""The `syslog` source: a receiver of syslog messages on UDP, TCP (optionally TLS, RFC
5425) and a local datagram socket like /dev/log, parsed as with `parser = "syslog"`.

Modules: `config` (the keys), `listeners` (addresses: parsing, binding), `framing`
(octet counting and newlines on a stream), `connections` (one TCP/TLS client),
`batcher` (messages into queue batches, without blocking), `source` (the selector loop,
backpressure, stop), `report` (`logproc check`).

A receiver has no checkpoint (its batches carry no record) and no end: `run --once`
refuses it.
"""

from __future__ import annotations

from typing import Any

from logproc.errors import StartupError
from logproc.sources.base import Source
from logproc.sources.kind import SourceContext, SourceKind
from logproc.sources.syslog.config import SyslogSourceConfig
from logproc.sources.syslog.report import describe


def build(name: str, cfg: Any, ctx: SourceContext) -> Source:
    if ctx.once:
        raise StartupError(f"source {name!r}: a syslog receiver has no end; run --once reads files "
                           "and journals")
    from logproc.sources.syslog.source import SyslogSource

    return SyslogSource(name, cfg, ctx.queue, budget=ctx.budget, stats=ctx.stats)


KIND = SourceKind("syslog", SyslogSourceConfig, build, parser=lambda cfg: "syslog", describe=describe)
