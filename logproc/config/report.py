"""What a valid config would do, as text for `logproc check`.

Contract: `describe(loaded)` returns the report (ending in a newline): the config file,
each source (parser, start_at, priority, the files its globs match now, compressed ones
with their format and, when the format says it, their decompressed size), each sink
(type, path, inputs, format, filters, when_full). What would surprise an operator at run
time is a `warning:` line, never an error: a glob matching no file, a matched file that
cannot be read, a path naming a folder, FIFO, device or socket, a source no sink takes, a
config file others can change, a state folder this user could not create. The whole
report goes through `loaded.mask`, and control characters in it (a newline or an escape
sequence in a file name) are written as escapes.
It reads the disk (globs) but writes nothing.
"""

from __future__ import annotations

import os

from logproc.config.load import LoadedConfig
from logproc.config.schema import FileSinkConfig, SinkConfig, SourceConfig
from logproc.config.suggest import quote
from logproc.safety import config_file_warnings, inspect_state_dir
from logproc.sinks.formats import escape_controls
from logproc.sources.file import compressed
from logproc.sources.file.discovery import match_files, special_paths


def describe(loaded: LoadedConfig) -> str:
    cfg = loaded.config
    lines = [f"config: {loaded.path}"]
    lines += [f"warning: {w}" for w in config_file_warnings(loaded.path)]
    lines.append(f"state_dir: {cfg.daemon.state_dir}")
    lines += [f"warning: {w}" for w in inspect_state_dir(cfg.daemon.state_dir)[1]]
    lines += ["", "sources:"]
    for name, source in cfg.sources.items():
        lines += _source(name, source)
    lines += ["", "sinks:"]
    for name, sink in cfg.sinks.items():
        lines += _sink(name, sink)
    routed = {n for sink in cfg.sinks.values() for n in (cfg.sources if sink.inputs is None else sink.inputs)}
    lines += [f"warning: source {quote(n)} goes to no sink" for n in cfg.sources if n not in routed]
    return loaded.mask("\n".join(escape_controls(line) for line in lines) + "\n")


def _source(name: str, src: SourceConfig) -> list[str]:
    head = f"  {name}: parser {src.parser}, start_at {src.start_at}, priority {src.priority}"
    lines = [head, f"    paths: {', '.join(src.paths)}"]
    if src.exclude:
        lines.append(f"    exclude: {', '.join(src.exclude)}")
    files = match_files(src.paths, src.exclude)
    lines.append(f"    matches {len(files)} file{'' if len(files) == 1 else 's'}{':' if files else ''}")
    lines += [f"      {f}{_compressed(f)}" for f in files]
    # Globs one by one, to name the one that matches nothing among several that do.
    empty = [glob for glob in src.paths if not match_files([glob], src.exclude)]
    lines += [f"    warning: {glob} matches no file" for glob in empty]
    lines += [f"    warning: {f} cannot be read" for f in files if not os.access(f, os.R_OK)]
    lines += [f"    warning: {path} is {kind}, not a file: it is not read"
              for path, kind in special_paths(src.paths, src.exclude)]
    return lines


def _compressed(path: str) -> str:
    """" (gzip, 1234 bytes decompressed)" for a compressed file, "" for a plain one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        fmt = compressed.sniff(fd)
        if fmt is None:
            return ""
        size = compressed.size_hint(fd, fmt)
        return f" ({fmt}{'' if size is None else f', {size} bytes decompressed'})"
    except OSError:
        return ""
    finally:
        os.close(fd)


def _sink(name: str, sink: SinkConfig) -> list[str]:
    if isinstance(sink, FileSinkConfig):
        where = f" {sink.path}{' (fsync)' if sink.fsync else ''}"
    elif sink.type == "http":
        where = f" {sink.url} ({sink.encoding}{', gzip' if sink.gzip else ''})"
    elif sink.type == "syslog":
        where = f" {sink.address} ({sink.protocol}, facility {sink.facility})"
    else:
        where = ""
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
    return lines


def _inputs(inputs: list[str] | None) -> str:
    if inputs is None:
        return "all sources"
    return ", ".join(inputs) if inputs else "none (the sink receives nothing)"
