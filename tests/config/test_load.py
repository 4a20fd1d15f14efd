"""Loading: defaults, every message shape, many problems in one pass, paths, cross checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from logproc.config import (
    Config,
    DaemonConfig,
    LoadedConfig,
    load,
    load_text,
)
from logproc.errors import ConfigErrors
from logproc.sinks.file.config import FileSinkConfig
from logproc.sinks.stdout.config import StdoutSinkConfig
from logproc.sources.file.config import SourceConfig

from .conftest import MINIMAL

Issues = Callable[[str], list[str]]
Loads = Callable[[str], LoadedConfig]

LEVELS = "trace, debug, info, notice, warning, error, critical"
PARSERS = "plain, json, logfmt, regex, syslog, combined, common"
SINK_TYPES = "stdout, file, http, syslog, kafka, nats, otlp"


def test_defaults(loads: Loads, tmp_path: Path) -> None:
    loaded = loads(MINIMAL)
    assert loaded.path == tmp_path / "logproc.toml"
    assert loaded.secrets == frozenset()
    d = loaded.config.daemon
    assert d == DaemonConfig()
    assert (d.state_dir, d.queue_size, d.consumers, d.shutdown_timeout, d.checkpoint_interval) == (
        Path("/var/lib/logproc"), 10000, None, 30, 1.0)
    assert (d.max_open_files, d.watch_config, d.log_level, d.metrics_address) == (
        1024, True, "info", "127.0.0.1:9977")
    src = loaded.config.sources["app"]
    assert src == SourceConfig(paths=["/var/log/app.log"])
    assert (src.exclude, src.start_at, src.priority, src.parser, src.pattern) == (
        [], "beginning", 0, "plain", None)
    assert (src.max_line_bytes, src.timezone, src.fields, src.drop_fields, src.rename, src.redact) == (
        1048576, "local", {}, [], {}, [])
    sink = loaded.config.sinks["out"]
    assert sink == StdoutSinkConfig(type="stdout")
    assert (sink.inputs, sink.format, sink.template, sink.min_level) == (None, "json", None, None)
    assert (sink.include, sink.exclude, sink.when_full) == ({}, {}, "block")


def test_spec_example_loads(loads: Loads) -> None:
    loaded = loads(r"""
        [daemon]
        state_dir = "/var/lib/logproc"
        queue_size = 10000
        consumers = 2
        shutdown_timeout = 30
        checkpoint_interval = 1.0
        max_open_files = 1024
        watch_config = true
        log_level = "info"
        metrics_address = "127.0.0.1:9977"

        [sources.app]
        paths = ["/var/log/app/*.log"]
        exclude = ["*.gz"]
        start_at = "beginning"
        priority = 0
        parser = "json"
        max_line_bytes = 1048576
        timezone = "local"
        fields = { service = "app" }
        drop_fields = ["password"]
        rename = { msg = "message" }
        redact = ["email", "credit_card", "bearer_token", 'secret=\S+']

        [sinks.errors]
        type = "file"
        inputs = ["app"]
        path = "/var/log/logproc/errors.jsonl"
        format = "json"
        min_level = "warning"
        include = { message = "timeout|refused" }
        exclude = { path = "^/health" }
        when_full = "block"
    """)
    sink = loaded.config.sinks["errors"]
    assert isinstance(sink, FileSinkConfig)
    assert (sink.path, sink.fsync, sink.min_level, sink.inputs) == (
        "/var/log/logproc/errors.jsonl", False, "warning", ["app"])
    assert loaded.config.sources["app"].redact[3] == r"secret=\S+"


def test_load_text_matches_load(write: Callable[[str], Path]) -> None:
    path = write(MINIMAL)
    assert load_text(MINIMAL, path).config == load(path).config


def test_models_are_frozen(loads: Loads) -> None:
    config = loads(MINIMAL).config
    with pytest.raises(ValueError, match="frozen"):
        config.daemon.queue_size = 5  # type: ignore[misc]


def test_issue_names_the_absolute_file(write: Callable[[str], Path]) -> None:
    path = write(MINIMAL + "[daemon]\nconsumers = 0\n")
    with pytest.raises(ConfigErrors) as caught:
        load(path)
    assert [str(i) for i in caught.value.issues] == [f"{path}:7: daemon.consumers: must be at least 1, got 0"]
    issue = caught.value.issues[0]
    assert (issue.file, issue.line, issue.path) == (str(path), 7, "daemon.consumers")


def test_unknown_keys_suggest_the_close_one(issues: Issues) -> None:
    assert issues("""
        sourcse = 1
        [daemon]
        queue_sise = 10
        colour = "blue"
        [sources.app]
        paths = ["/x"]
        parsr = "json"
        [sinks.out]
        type = "stdout"
        formt = "json"
        [sinks.file]
        type = "file"
        path = "/x"
        fsinc = true
    """) == [
        'logproc.toml:1: sourcse: unknown key "sourcse"; did you mean "sources"?',
        'logproc.toml:3: daemon.queue_sise: unknown key "queue_sise"; did you mean "queue_size"?',
        'logproc.toml:4: daemon.colour: unknown key "colour"',
        'logproc.toml:7: sources.app.parsr: unknown key "parsr"; did you mean "parser"?',
        'logproc.toml:10: sinks.out.formt: unknown key "formt"; did you mean "format"?',
        'logproc.toml:14: sinks.file.fsinc: unknown key "fsinc"; did you mean "fsync"?',
    ]


def test_bad_choices(issues: Issues) -> None:
    assert issues(MINIMAL + dedent("""\
        [daemon]
        log_level = "INFO"
        [sinks.errors]
        type = "file"
        path = "/x"
        min_level = "warnig"
        when_full = 3
    """)) == [
        'logproc.toml:7: daemon.log_level: invalid value "INFO"; expected one of: debug, info, warning, '
        'error; did you mean "info"?',
        f'logproc.toml:11: sinks.errors.min_level: invalid value "warnig"; expected one of: {LEVELS}; '
        'did you mean "warning"?',
        "logproc.toml:12: sinks.errors.when_full: invalid value 3; expected one of: block, drop",
    ]


def test_sink_type_unknown_or_missing(issues: Issues) -> None:
    assert issues("""
        [sources.app]
        paths = ["/x"]
        [sinks.a]
        type = "fiel"
        [sinks.b]
        format = "json"
        [sinks.c]
        type = "kafak"
    """) == [
        f'logproc.toml:4: sinks.a.type: unknown sink type "fiel"; expected one of: {SINK_TYPES}; '
        'did you mean "file"?',
        'logproc.toml:5: sinks.b.type: missing required key "type"',
        f'logproc.toml:8: sinks.c.type: unknown sink type "kafak"; expected one of: {SINK_TYPES}; '
        'did you mean "kafka"?',
    ]


def test_missing_keys(issues: Issues) -> None:
    assert issues("""
        [sources.app]
        parser = "json"
        [sinks.errors]
        type = "file"
    """) == [
        'logproc.toml:1: sources.app.paths: missing required key "paths"',
        'logproc.toml:3: sinks.errors.path: missing required key "path"',
    ]
    # Nothing to point at: no line.
    assert issues("# empty\n") == [
        'logproc.toml: sources: missing required key "sources"',
        'logproc.toml: sinks: missing required key "sinks"',
    ]


def test_wrong_types(issues: Issues) -> None:
    assert issues("""
        [daemon]
        queue_size = "ten"
        consumers = 1.5
        checkpoint_interval = "fast"
        watch_config = "yes"
        metrics_address = 9977
        state_dir = 5
        [sources.app]
        paths = "/var/log/*.log"
        fields = { a = [1, 2], b = 2, c = 1979-05-27T07:32:00Z }
        rename = 3
        [sources.web]
        paths = ["/x"]
        drop_fields = [1]
        [sinks]
        out = "stdout"
    """) == [
        'logproc.toml:2: daemon.queue_size: expected an integer, got "ten"',
        "logproc.toml:3: daemon.consumers: expected an integer, got 1.5",
        'logproc.toml:4: daemon.checkpoint_interval: expected a number, got "fast"',
        'logproc.toml:5: daemon.watch_config: expected true or false, got "yes"',
        "logproc.toml:6: daemon.metrics_address: expected a string, got 9977",
        "logproc.toml:7: daemon.state_dir: expected a string, got 5",
        'logproc.toml:9: sources.app.paths: expected a list, got "/var/log/*.log"',
        "logproc.toml:10: sources.app.fields.a: expected a string, a number or true or false, got [1, 2]",
        "logproc.toml:10: sources.app.fields.c: expected a string, a number or true or false, "
        "got 1979-05-27T07:32:00+00:00",
        "logproc.toml:11: sources.app.rename: expected a table, got 3",
        "logproc.toml:14: sources.web.drop_fields[0]: expected a string, got 1",
        'logproc.toml:16: sinks.out: expected a table, got "stdout"',
    ]


def test_numeric_bounds(issues: Issues) -> None:
    assert issues(MINIMAL + dedent("""\
        [daemon]
        queue_size = 0
        consumers = 65
        shutdown_timeout = 0
        checkpoint_interval = -1.5
        max_open_files = 8
        [sources.web]
        paths = ["/x"]
        max_line_bytes = 10
    """)) == [
        "logproc.toml:7: daemon.queue_size: must be at least 1, got 0",
        "logproc.toml:8: daemon.consumers: must be at most 64, got 65",
        "logproc.toml:9: daemon.shutdown_timeout: must be greater than 0, got 0",
        "logproc.toml:10: daemon.checkpoint_interval: must be greater than 0, got -1.5",
        "logproc.toml:11: daemon.max_open_files: must be at least 16, got 8",
        "logproc.toml:14: sources.web.max_line_bytes: must be at least 64, got 10",
    ]


def test_empty_tables_and_lists(issues: Issues) -> None:
    assert issues("""
        [sources]
        [sinks.out]
        type = "file"
        path = ""
        [sinks.x]
        type = "stdout"
        inputs = []
    """) == [
        "logproc.toml:1: sources: must not be empty",
        "logproc.toml:4: sinks.out.path: must not be empty",
    ]
    assert issues("""
        [sources.app]
        paths = []
        [sinks.out]
        type = "stdout"
    """) == ["logproc.toml:2: sources.app.paths: must not be empty"]


def test_every_mistake_in_one_pass(issues: Issues) -> None:
    assert issues("""
        # logproc
        [daemon]
        queue_sise = 10
        consumers = 0

        [sources.app]
        paths = ["logs/*.log"]
        parser = "jsn"

        [sources.web]
        parser = "regex"

        [sinks.errors]
        type = "file"
        inputs = ["ap", "web"]
        path = "/var/log/out/{source}-{date}.log"
        min_level = "warnig"

        [sinks.out]
        type = "fiel"
    """) == [
        'logproc.toml:3: daemon.queue_sise: unknown key "queue_sise"; did you mean "queue_size"?',
        "logproc.toml:4: daemon.consumers: must be at least 1, got 0",
        f'logproc.toml:8: sources.app.parser: invalid value "jsn"; expected one of: {PARSERS}; '
        'did you mean "json"?',
        'logproc.toml:10: sources.web.paths: missing required key "paths"',
        'logproc.toml:10: sources.web.pattern: missing required key "pattern" (parser = "regex" needs it)',
        'logproc.toml:15: sinks.errors.inputs: unknown source "ap" in inputs; did you mean "app"?',
        'logproc.toml:16: sinks.errors.path: the only placeholder allowed is {source}, got "{date}"',
        f'logproc.toml:17: sinks.errors.min_level: invalid value "warnig"; expected one of: {LEVELS}; '
        'did you mean "warning"?',
        f'logproc.toml:20: sinks.out.type: unknown sink type "fiel"; expected one of: {SINK_TYPES}; '
        'did you mean "file"?',
    ]


def test_syntax_error_is_the_only_issue(issues: Issues) -> None:
    assert issues(MINIMAL + '[daemon]\nconsumers = 0\nqueue_size = = 3\n') == [
        "logproc.toml:8: TOML syntax error at column 14: invalid value",
    ]
    assert issues('[sources.app]\npaths = ["a",\n') == [
        "logproc.toml:3: TOML syntax error: invalid value",
    ]
    assert issues("a = 1\na = 2\n") == [
        "logproc.toml:2: TOML syntax error at column 6: cannot overwrite a value"]


def test_unreadable_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path / "missing.toml")
    assert str(caught.value) == f"{tmp_path}/missing.toml: cannot read the file: No such file or directory"
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[daemon]\nlog_level = "\xff"\n')
    with pytest.raises(ConfigErrors) as caught:
        load(bad)
    assert str(caught.value) == f"{bad}:2: the file is not valid UTF-8"


def test_relative_paths_resolve_against_the_config_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/op")
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "logproc.toml").write_text("""
[daemon]
state_dir = "state"
[sources.app]
paths = ["logs/*.log", "../var/app.log", "/abs/*.log", "~/app/*.log"]
exclude = ["*.gz", "old/*.log", "/abs/skip.log"]
[sinks.out]
type = "file"
path = "out/{source}.log"
[sinks.console]
type = "stdout"
""")
    monkeypatch.chdir(folder)
    loaded = load("logproc.toml")  # a relative config path is made absolute first
    assert loaded.path == folder / "logproc.toml"
    config = loaded.config
    assert config.daemon.state_dir == folder / "state"
    assert config.sources["app"].paths == [
        f"{folder}/logs/*.log", f"{tmp_path}/var/app.log", "/abs/*.log", "/home/op/app/*.log"]
    assert config.sources["app"].exclude == ["*.gz", f"{folder}/old/*.log", "/abs/skip.log"]
    sink = config.sinks["out"]
    assert isinstance(sink, FileSinkConfig)
    assert sink.path == f"{folder}/out/{{source}}.log"


def test_inputs_checked_alongside_other_errors(issues: Issues) -> None:
    assert issues("""
        [daemon]
        consumers = "two"
        [sources.app]
        paths = ["/x"]
        [sources.web]
        paths = ["/y"]
        parser = "xml"
        [sinks.out]
        type = "stdout"
        inputs = ["app", "wbe", "db"]
        min_level = "loud"
    """) == [
        'logproc.toml:2: daemon.consumers: expected an integer, got "two"',
        f'logproc.toml:7: sources.web.parser: invalid value "xml"; expected one of: {PARSERS}',
        'logproc.toml:10: sinks.out.inputs: unknown source "wbe" in inputs; did you mean "web"?',
        'logproc.toml:10: sinks.out.inputs: unknown source "db" in inputs',
        f'logproc.toml:11: sinks.out.min_level: invalid value "loud"; expected one of: {LEVELS}',
    ]


@pytest.mark.parametrize(("path", "message"), [
    ("/var/log/{source}.log", None),
    ("/var/log/{source}/all.log", None),
    ("/var/log/logproc.log", None),
    ("/var/log/app-{source}.log",
     'the part before {source} must be a folder ending in "/", got "/var/log/app-"'),
    ("/var/log/{host}/{source}.log", 'the only placeholder allowed is {source}, got "{host}"'),
    ("/var/log/{source!r}.log", 'the only placeholder allowed is {source}, got "{source!r}"'),
    ("/var/log/{{x}}.log", 'the only placeholder allowed is {source}, got "{{"'),
    ("/var/log/{source.log", 'unbalanced "{" or "}" in "/var/log/{source.log"; '
                             "the only placeholder allowed is {source}"),
])
def test_file_sink_path_placeholders(issues: Issues, loads: Loads, path: str, message: str | None) -> None:
    text = f'[sources.app]\npaths = ["/x"]\n[sinks.out]\ntype = "file"\npath = "{path}"\n'
    if message is None:
        loads(text)
    else:
        assert issues(text) == [f"logproc.toml:5: sinks.out.path: {message}"]


def test_names_are_checked(issues: Issues) -> None:
    rule = 'use 1 to 64 letters, digits, "_", "." or "-", not starting with "." or "-"'
    long = "a" * 65
    assert issues(f"""
        [sources."my app"]
        paths = ["/x"]
        [sources.".hidden"]
        paths = ["/x"]
        [sources."ok_name-1.2"]
        paths = ["/x"]
        [sinks.{long}]
        type = "stdout"
    """) == [
        f'logproc.toml:1: sources."my app": invalid name "my app": {rule}',
        f'logproc.toml:3: sources.".hidden": invalid name ".hidden": {rule}',
        f'logproc.toml:7: sinks.{long}: invalid name "{long}": {rule}',
    ]


def test_quoted_source_names_are_fine(loads: Loads) -> None:
    text = '[sources."app.v2"]\npaths = ["/x"]\n[sinks.out]\ntype = "stdout"\ninputs = ["app.v2"]\n'
    config = loads(text).config
    assert list(config.sources) == ["app.v2"]
    assert isinstance(config, Config)
