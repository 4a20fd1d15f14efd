"""What a valid config would do, as text for `logproc check`.

Contract: `describe(loaded)` returns the report (ending in a newline): the config file,
each source (parser, start_at, priority, the files its globs match now, compressed ones
with their format and, when the format says it, their decompressed size), each sink
(type, where it sends and with which guarantee — the kind's `describe` —, inputs, format,
filters, when_full). What would surprise an operator at run
time is a `warning:` line, never an error: a glob matching no file, a matched file that
cannot be read, a path naming a folder, FIFO, device or socket, a source no sink takes, a
sink that does not verify its server's certificate (`verify = false`), a config file
others can change, a state folder this user could not create. The whole
report goes through `loaded.mask`, and control characters in it (a newline or an escape
sequence in a file name) are written as escapes.
It reads the disk (globs) but writes nothing.
"""

from __future__ import annotations

from typing import Any

from logproc.config.loader import LoadedConfig
from logproc.config.suggest import quote
from logproc.config.tls import unverified
from logproc.safety import config_file_warnings, inspect_state_dir
from logproc.sinks.formats import escape_controls
from logproc.sinks.registry import kind_of as sink_kind
from logproc.sources.registry import kind_of as source_kind


def describe(loaded: LoadedConfig) -> str:
    cfg = loaded.config
    lines = [f"config: {loaded.path}"]
    lines += [f"warning: {w}" for w in config_file_warnings(loaded.path)]
    lines.append(f"state_dir: {cfg.daemon.state_dir}")
    lines += [f"warning: {w}" for w in inspect_state_dir(cfg.daemon.state_dir)[1]]
    lines += ["", "sources:"]
    for name, source in cfg.sources.items():
        lines += source_kind(source).describe(name, source)
    lines += ["", "sinks:"]
    for name, sink in cfg.sinks.items():
        lines += _sink(name, sink)
    routed = {n for sink in cfg.sinks.values() for n in (cfg.sources if sink.inputs is None else sink.inputs)}
    lines += [f"warning: source {quote(n)} goes to no sink" for n in cfg.sources if n not in routed]
    return loaded.mask("\n".join(escape_controls(line) for line in lines) + "\n")


def _sink(name: str, sink: Any) -> list[str]:
    where = sink_kind(sink).describe(sink)
    fmt = (sink.format or "message") + (f" {quote(sink.template)}" if sink.template is not None else "")
    lines = [
        f"  {name}: {sink.type}{where}",
        f"    inputs: {_inputs(sink.inputs)}",
        f"    format: {fmt}",
        f"    min_level: {sink.min_level or 'none (every entry passes)'}",
    ]
    lines += [f"    include: {field} matches {quote(rx)}" for field, rx in sink.include.items()]
    lines += [f"    exclude: {field} matches {quote(rx)}" for field, rx in sink.exclude.items()]
    lines.append(f"    when_full: {sink.when_full}")
    key = unverified(sink)
    if key is not None:
        lines.append(f"    warning: {key} = false: the server's certificate is not checked")
    return lines


def _inputs(inputs: list[str] | None) -> str:
    if inputs is None:
        return "all sources"
    return ", ".join(inputs) if inputs else "none (the sink receives nothing)"
