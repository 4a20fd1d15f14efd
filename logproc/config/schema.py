"""The config file's model: pydantic v2, frozen, unknown keys forbidden.

Contract:
- Field names and defaults here are the config file's keys and defaults (see SPEC.md).
- Every check that needs only one model's own values lives here, as a validator that
  raises `ValueError` with an operator-facing message (lower case, values double-quoted);
  `logproc.config.suggest` turns pydantic's errors into config issues. Checks across
  models (a sink's `inputs` naming sources, a file sink's `{source}` placement) run on
  the raw data in `logproc.config.load`, so they report even when the model fails.
- The loader validates with `strict=True`: TOML has real types, so `queue_size = "10"` is
  a mistake worth reporting, not something to coerce. `state_dir` takes a string.
- Sinks are a union on `type`; a new sink kind is one more `SinkBase` subclass added to
  `SinkConfig`, and every message (choices, did-you-mean) follows from the union.
"""

from __future__ import annotations

import os
import re
import string
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from logproc.config.suggest import did_you_mean, quote
from logproc.patterns import Pattern, compile_pattern

BUILTIN_REDACTIONS = ("email", "credit_card", "bearer_token", "ipv4")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_PLAIN_FIELD = re.compile(r"[^.\[\]]+")  # a name, no attribute or index access


def _check_name(name: str) -> str:
    # Source and sink names end up in file paths ({source}) and metric labels.
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid name {quote(name)}: use 1 to 64 letters, digits, \"_\", \".\" or \"-\", "
            "not starting with \".\" or \"-\""
        )
    return name


def check_regex(pattern: str) -> Pattern:
    """Compile an operator's regex as it will run (RE2, see `logproc.patterns`), bounded in
    size; ValueError with a readable reason."""
    return compile_pattern(pattern)


def _regex(pattern: str) -> str:
    check_regex(pattern)
    return pattern


def _redaction(item: str) -> str:
    if item in BUILTIN_REDACTIONS:
        return item
    if check_regex(item).starts(b""):
        raise ValueError(f"{quote(item)} matches the empty string: it would redact between every "
                         "character; make it match at least one")
    return item


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(name: str) -> str:
    if name in ("local", "UTC"):
        return name
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # ValueError: keys that are not plain relative names (absolute paths, "..").
        hint = did_you_mean(name, ["local", "UTC", *sorted(_zones())])
        expected = 'expected "local", "UTC" or an IANA name'
        raise ValueError(f"unknown time zone {quote(name)}; {expected}{hint}") from None
    return name


def _address(value: str) -> str:
    if value == "":
        return value
    host, sep, port = value.rpartition(":")
    bracketed = host.startswith("[") == host.endswith("]")  # IPv6 literals come as [::1]:9977
    if not (sep and host and bracketed and port.isdigit() and 1 <= int(port) <= 65535):
        expected = 'expected "host:port" such as "127.0.0.1:9977", or "" to disable'
        raise ValueError(f"{expected}, got {quote(value)}")
    return value


def check_template(template: str) -> str:
    """A text template may only name fields: `{message}`, literal `{{ }}`; nothing str.format
    would evaluate (attribute or index access, `!r`, `:>10`), since the template runs on every entry."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ValueError(f"invalid template: {e}") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        extra = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        shown = quote("{" + name + extra + "}")
        if not name or name.isdigit() or not _PLAIN_FIELD.fullmatch(name) or conversion or spec:
            raise ValueError(f"invalid template field {shown}: only plain field names, such as {{message}}")
    return template


NAME_MAX = 255  # bytes in one path component (Linux)
PATH_MAX = 4095  # bytes in a whole path


def path_problem(value: str) -> str | None:
    """What makes `value` unusable as a path on this system (None: nothing): a NUL byte,
    a component over NAME_MAX bytes, the whole over PATH_MAX bytes."""
    if "\0" in value:
        return "a path cannot contain a NUL character"
    raw = value.encode("utf-8", "surrogateescape")
    if len(raw) > PATH_MAX:
        return f"path too long: {len(raw)} bytes, limit {PATH_MAX}"
    longest = max(raw.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        shown = quote(longest[:40].decode("utf-8", "replace") + "…")
        return f"path component {shown} is {len(longest)} bytes long, limit {NAME_MAX}"
    return None


def _path_text(value: str) -> str:
    problem = path_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _path(value: object) -> object:
    # TOML has no path type and the loader validates strictly: a string is the one way in.
    if value == "":
        raise ValueError("must not be empty")
    if isinstance(value, str):
        return Path(_path_text(value))
    return value


def _readable_file(value: str) -> str:
    """A file logproc must read at start-up (a CA bundle, a certificate): it must exist and
    be readable now, so the daemon does not fail on it later."""
    _path_text(value)
    if not os.path.isfile(value):
        raise ValueError(f"no such file: {quote(value)}" if not os.path.exists(value)
                         else f"not a regular file: {quote(value)}")
    if not os.access(value, os.R_OK):
        raise ValueError(f"cannot read {quote(value)}: permission denied")
    return value


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field names
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"invalid header name {quote(name)}: letters, digits and !#$%&'*+.^_`|~-")
    return name


def _header_value(value: str) -> str:
    # Never echo the value: headers carry credentials.
    if _CONTROL.search(value):
        raise ValueError("the header value contains a line break or another control character "
                         "(value not shown)")
    return value


HeaderName = Annotated[str, AfterValidator(_header_name)]
HeaderValue = Annotated[str, AfterValidator(_header_value)]
PathText = Annotated[str, AfterValidator(_path_text)]
ReadableFile = Annotated[str, AfterValidator(_readable_file)]


Name = Annotated[str, AfterValidator(_check_name)]
Regex = Annotated[str, AfterValidator(_regex)]


class DaemonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: Annotated[Path, BeforeValidator(_path)] = Path("/var/lib/logproc")
    queue_size: int = Field(default=10000, ge=1, le=10_000_000)
    # consumer threads; absent: 2, or one more than the worker processes when those run
    # (one batch in the workers while the one before is handed to the sinks, and a third taken)
    consumers: int | None = Field(default=None, ge=1, le=64)
    # worker processes that parse and format (0: the consumer threads do it); absent: 2 on a
    # machine with 2 CPUs or more when some source is parsed, else 0 (procpool.auto_workers)
    workers: int | None = Field(default=None, ge=0, le=64)
    shutdown_timeout: float = Field(default=30, gt=0, le=86400)
    checkpoint_interval: float = Field(default=1.0, gt=0, le=3600)
    max_open_files: int = Field(default=1024, ge=16, le=1_048_576)
    watch_config: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_address: Annotated[str, AfterValidator(_address)] = "127.0.0.1:9977"


class MultilineConfig(BaseModel):
    """A line that does not match `start` continues the entry before it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Regex
    timeout: float = Field(default=1.0, gt=0, le=3600)


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[PathText] = Field(min_length=1)
    exclude: list[PathText] = []
    start_at: Literal["beginning", "end"] = "beginning"
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    parser: Literal["plain", "json", "logfmt", "regex", "syslog", "combined", "common"] = "plain"
    # validate_default: a regex parser with no pattern must be reported.
    pattern: str | None = Field(default=None, validate_default=True)
    max_line_bytes: int = Field(default=1048576, ge=64, le=256 << 20)
    timezone: Annotated[str, AfterValidator(_timezone)] = "local"
    fields: dict[str, str | int | float | bool] = {}
    drop_fields: list[str] = []
    rename: dict[str, str] = {}
    redact: list[Annotated[str, AfterValidator(_redaction)]] = []
    multiline: MultilineConfig | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_fits_parser(cls, pattern: str | None, info: ValidationInfo) -> str | None:
        parser = info.data.get("parser")  # absent when `parser` itself is invalid: nothing to say
        if parser == "regex" and pattern is None:
            raise ValueError('missing required key "pattern" (parser = "regex" needs it)')
        if parser is not None and parser != "regex" and pattern is not None:
            raise ValueError(f'only used with parser = "regex", not parser = {quote(parser)}')
        if pattern is not None and not check_regex(pattern).groupindex:
            raise ValueError("the pattern needs at least one named group, such as (?P<message>.*)")
        return pattern


class SinkBase(BaseModel):
    """Keys every sink has; a sink kind subclasses it and adds `type` plus its own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: list[str] | None = None
    format: Literal["json", "logfmt", "text", "raw"] = "json"
    template: Annotated[str, AfterValidator(check_template)] | None = None
    min_level: Literal["trace", "debug", "info", "notice", "warning", "error", "critical"] | None = None
    include: dict[str, Regex] = {}
    exclude: dict[str, Regex] = {}
    when_full: Literal["block", "drop"] = "block"

    @field_validator("template")
    @classmethod
    def _template_fits_format(cls, template: str | None, info: ValidationInfo) -> str | None:
        fmt = info.data.get("format")  # `format` is declared first, so it is validated first
        if template is not None and fmt is not None and fmt != "text":
            raise ValueError(f'only used with format = "text", not format = {quote(fmt)}')
        return template


class StdoutSinkConfig(SinkBase):
    type: Literal["stdout"]


class FileSinkConfig(SinkBase):
    type: Literal["file"]
    # absolute after loading; may contain {source} (checked in load.py)
    path: PathText = Field(min_length=1)
    fsync: bool = False


def _http_url(url: str) -> str:
    if _CONTROL.search(url) or " " in url or "\t" in url:
        raise ValueError("the URL contains a blank or a control character (percent-encode it)")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError(f'expected an "http://" or "https://" URL, got {quote(url)}')
    return url


def _syslog_address(address: str) -> str:
    scheme, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if not (sep and scheme in ("udp", "tcp") and colon and host and port.isdigit()
            and 1 <= int(port) <= 65535):
        raise ValueError(f'expected "udp://host:port" or "tcp://host:port", got {quote(address)}')
    return address


FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
              "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
              "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")


def _facility(value: str | int) -> str | int:
    if isinstance(value, int):
        if not 0 <= value <= 23:
            raise ValueError(f"a facility number is 0 to 23, got {value}")
        return value
    if value not in FACILITIES:
        raise ValueError(f"unknown facility {quote(value)}{did_you_mean(value, FACILITIES)}")
    return value


class HttpSinkConfig(SinkBase):
    """POSTs batches of entries; `encoding` decides the body (see sinks/http)."""

    type: Literal["http"]
    url: Annotated[str, AfterValidator(_http_url)]
    encoding: Literal["ndjson", "json_array", "loki", "elasticsearch"] = "ndjson"
    headers: dict[HeaderName, HeaderValue] = {}
    gzip: bool = False
    batch_max_entries: int = Field(default=1000, ge=1, le=1_000_000)
    batch_max_bytes: int = Field(default=1048576, ge=1024, le=256 << 20)
    batch_timeout: float = Field(default=1.0, gt=0, le=60)
    timeout: float = Field(default=10.0, gt=0, le=3600)
    retry_max_backoff: float = Field(default=30.0, gt=0, le=3600)
    concurrency: int = Field(default=1, ge=1, le=64)
    tls_verify: bool = True
    ca_file: ReadableFile | None = None
    # loki: label -> value, where a value may name entry fields as "{level}"
    labels: dict[str, str] | None = None
    # elasticsearch: the index (strftime on the entry's timestamp) and the bulk action
    index: str = "logproc-%Y.%m.%d"
    action: Literal["create", "index"] = "create"

    @field_validator("labels")
    @classmethod
    def _labels_for_loki(cls, labels: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        enc = info.data.get("encoding")
        if labels is not None and enc is not None and enc != "loki":
            raise ValueError(f'only used with encoding = "loki", not encoding = {quote(enc)}')
        for name, value in (labels or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"invalid Loki label name {quote(name)}: letters, digits and \"_\", "
                                 "not starting with a digit")
            check_template(value)
        return labels


class SyslogSinkConfig(SinkBase):
    """Sends each entry as one syslog message over UDP or TCP."""

    type: Literal["syslog"]
    address: Annotated[str, AfterValidator(_syslog_address)]
    protocol: Literal["rfc5424", "rfc3164"] = "rfc5424"
    facility: Annotated[str | int, AfterValidator(_facility)] = "user"
    app_name: str = Field(default="logproc", min_length=1, max_length=48)
    framing: Literal["octet", "newline"] = "octet"
    # MSG is the entry's `message` unless `format` says otherwise
    format: Literal["json", "logfmt", "text", "raw"] | None = None  # type: ignore[assignment]


SinkConfig = Annotated[StdoutSinkConfig | FileSinkConfig | HttpSinkConfig | SyslogSinkConfig,
                       Field(discriminator="type")]


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    daemon: DaemonConfig = DaemonConfig()
    sources: dict[Name, SourceConfig] = Field(min_length=1)
    sinks: dict[Name, SinkConfig] = Field(min_length=1)
