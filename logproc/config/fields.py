"""Field types and validators shared by the config models of every component.

A validator raises `ValueError` with an operator-facing message (lower case, values
double-quoted, never a secret: header values are not echoed); `logproc.config.suggest`
turns pydantic's errors into config issues with the key path and the line. The models
themselves live with their components (`sources/<kind>/config.py`,
`sinks/<kind>/config.py`) and the daemon's in `config.schema`.
"""

from __future__ import annotations

import os
import re
import string
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
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
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"invalid header name {quote(name)}: letters, digits and !#$%&'*+.^_`|~-")
    return name


def _header_value(value: str) -> str:
    # Never echo the value: headers carry credentials.
    if CONTROL.search(value):
        raise ValueError("the header value contains a line break or another control character "
                         "(value not shown)")
    return value


HeaderName = Annotated[str, AfterValidator(_header_name)]
HeaderValue = Annotated[str, AfterValidator(_header_value)]
PathText = Annotated[str, AfterValidator(_path_text)]
ReadableFile = Annotated[str, AfterValidator(_readable_file)]


Name = Annotated[str, AfterValidator(_check_name)]
Regex = Annotated[str, AfterValidator(_regex)]



def _http_url(url: str) -> str:
    if CONTROL.search(url) or " " in url or "\t" in url:
        raise ValueError("the URL contains a blank or a control character (percent-encode it)")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError(f'expected an "http://" or "https://" URL, got {quote(url)}')
    return url


Redaction = Annotated[str, AfterValidator(_redaction)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
ListenAddress = Annotated[str, AfterValidator(_address)]
FolderPath = Annotated[Path, BeforeValidator(_path)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Template = Annotated[str, AfterValidator(check_template)]
