"""Single-value checks: regexes, templates, time zones, addresses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from logproc.config import LoadedConfig

Issues = Callable[[str], list[str]]
Loads = Callable[[str], LoadedConfig]

SINK = '[sinks.out]\ntype = "stdout"\n'


def source(body: str) -> str:
    """A config whose one source has `body` after its paths (line 3 on)."""
    return f'[sources.app]\npaths = ["/x"]\n{body}\n{SINK}'


def sink(body: str) -> str:
    """A config whose one sink has `body` after its type (line 5 on)."""
    return f'[sources.app]\npaths = ["/x"]\n[sinks.out]\ntype = "stdout"\n{body}\n'


def test_regex_parser_pattern(loads: Loads, issues: Issues) -> None:
    cfg = loads(source("parser = \"regex\"\npattern = '(?P<level>\\w+) (?P<message>.*)'")).config
    assert cfg.sources["app"].pattern == r"(?P<level>\w+) (?P<message>.*)"
    assert issues(source('parser = "regex"')) == [
        'logproc.toml:1: sources.app.pattern: missing required key "pattern" (parser = "regex" needs it)']
    assert issues(source("parser = \"regex\"\npattern = '(?P<x>'")) == [
        'logproc.toml:4: sources.app.pattern: invalid regular expression: missing ) in "(?P<x>"']
    assert issues(source("parser = \"regex\"\npattern = '(\\w+)'")) == [
        "logproc.toml:4: sources.app.pattern: the pattern needs at least one named group, "
        "such as (?P<message>.*)"]
    assert issues(source("parser = \"json\"\npattern = '(?P<x>.)'")) == [
        'logproc.toml:4: sources.app.pattern: only used with parser = "regex", not parser = "json"']
    assert issues(source("pattern = '(?P<x>.)'")) == [
        'logproc.toml:3: sources.app.pattern: only used with parser = "regex", not parser = "plain"']


def test_pattern_size_is_bounded(loads: Loads, issues: Issues) -> None:
    ok = "(?P<m>" + "a" * 4089 + ")"
    assert len(ok) == 4096
    loads(source(f'parser = "regex"\npattern = "{ok}"'))
    assert issues(source(f'parser = "regex"\npattern = "(?P<m>{"a" * 4090})"')) == [
        "logproc.toml:4: sources.app.pattern: regular expression too long: 4097 characters, limit 4096"]


def test_redact(loads: Loads, issues: Issues) -> None:
    redact = ["email", "credit_card", "bearer_token", "ipv4", r"secret=\S+"]
    quoted = ", ".join(f"'{r}'" for r in redact)
    assert loads(source(f"redact = [{quoted}]")).config.sources["app"].redact == redact
    assert issues(source("redact = ['email', 'token=(\\S+', 'x' ]")) == [
        'logproc.toml:3: sources.app.redact[1]: invalid regular expression: missing ) in "token=(\\S+"']
    assert issues(source("redact = ['x*']")) == [
        'logproc.toml:3: sources.app.redact[0]: "x*" matches the empty string: it would redact between every '
        "character; make it match at least one"]
    assert issues(source(f"redact = ['{'b' * 4097}']")) == [
        "logproc.toml:3: sources.app.redact[0]: regular expression too long: 4097 characters, limit 4096"]


def test_include_exclude_regexes(loads: Loads, issues: Issues) -> None:
    cfg = loads(sink("include = { message = 'timeout|refused' }\nexclude = { path = '^/health' }")).config
    assert cfg.sinks["out"].include == {"message": "timeout|refused"}
    assert issues(sink("include = { message = '[a-' }\nexclude = { path = '*x' }")) == [
        'logproc.toml:5: sinks.out.include.message: invalid regular expression: missing ] in "[a-"',
        "logproc.toml:6: sinks.out.exclude.path: invalid regular expression: no argument for repetition "
        'operator in "*"',
    ]


@pytest.mark.parametrize("template", [
    "{timestamp} {level} [{source}] {message}",
    "{{literal}} {message}",
    "no fields at all",
    "{@timestamp} {user-agent}",
])
def test_good_templates(loads: Loads, template: str) -> None:
    cfg = loads(sink(f"format = \"text\"\ntemplate = '{template}'")).config
    assert cfg.sinks["out"].template == template


@pytest.mark.parametrize(("template", "shown"), [
    ("{entry.message}", "{entry.message}"),
    ("{fields[0]}", "{fields[0]}"),
    ("{message!r}", "{message!r}"),
    ("{message:>20}", "{message:>20}"),
    ("{}", "{}"),
    ("{0}", "{0}"),
])
def test_templates_name_fields_only(issues: Issues, template: str, shown: str) -> None:
    assert issues(sink(f"format = \"text\"\ntemplate = '{template}'")) == [
        f'logproc.toml:6: sinks.out.template: invalid template field "{shown}": only plain field names, '
        "such as {message}"]


def test_template_errors(issues: Issues) -> None:
    assert issues(sink("format = \"text\"\ntemplate = '{message'")) == [
        "logproc.toml:6: sinks.out.template: invalid template: expected '}' before end of string"]
    assert issues(sink("template = '{message}'")) == [
        'logproc.toml:5: sinks.out.template: only used with format = "text", not format = "json"']


@pytest.mark.parametrize("zone", ["local", "UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
def test_good_timezones(loads: Loads, zone: str) -> None:
    assert loads(source(f'timezone = "{zone}"')).config.sources["app"].timezone == zone


def test_bad_timezones(issues: Issues) -> None:
    expected = 'expected "local", "UTC" or an IANA name'
    assert issues(source('timezone = "Europe/Pariss"')) == [
        f'logproc.toml:3: sources.app.timezone: unknown time zone "Europe/Pariss"; {expected}; '
        'did you mean "Europe/Paris"?']
    assert issues(source('timezone = "Local"')) == [
        f'logproc.toml:3: sources.app.timezone: unknown time zone "Local"; {expected}; did you mean "local"?']
    assert issues(source('timezone = "/etc/passwd"')) == [
        f'logproc.toml:3: sources.app.timezone: unknown time zone "/etc/passwd"; {expected}']


@pytest.mark.parametrize("address", ["", "127.0.0.1:9977", "0.0.0.0:1", "[::1]:9977", "localhost:65535"])
def test_good_metrics_addresses(loads: Loads, address: str) -> None:
    cfg = loads(f'[daemon]\nmetrics_address = "{address}"\n' + source("")).config
    assert cfg.daemon.metrics_address == address


@pytest.mark.parametrize("address", ["localhost", ":9977", "host:", "host:0", "host:65536", "host:http",
                                     "[::1:9977", "::1:9977x"])
def test_bad_metrics_addresses(issues: Issues, address: str) -> None:
    assert issues(f'[daemon]\nmetrics_address = "{address}"\n' + source("")) == [
        'logproc.toml:2: daemon.metrics_address: expected "host:port" such as "127.0.0.1:9977", '
        f'or "" to disable, got "{address}"']


def test_state_dir_must_not_be_empty(issues: Issues) -> None:
    assert issues('[daemon]\nstate_dir = ""\n' + source("")) == [
        "logproc.toml:2: daemon.state_dir: must not be empty"]
