"""Loading a config file: text -> validated `Config`, or every problem at once.

Contract:
- `load(path)` / `load_text(text, path)` return a `LoadedConfig` or raise `ConfigErrors`
  listing every problem found in one pass, sorted by line (a TOML syntax error stops
  the pass: it is then the only problem).
- Pipeline: TOML -> `${NAME}` substitution (env.py) -> relative paths resolved against
  the config file's folder, `~` expanded (`state_dir`, a file source's `paths` and
  `exclude`, a file sink's `path`, and every key ending in `_file` at any depth of a
  source or sink, such as `tls.ca_file`) -> pydantic validation (strict) and the cross
  checks below, which always both run so one pass shows everything.
- Cross checks (they need more than one model, so they run on the raw data): a sink's
  `inputs` name sources; a file sink's `path` uses no placeholder but `{source}`, and only
  as a name inside a folder (`/var/log/x/{source}.log`), so no source reaches elsewhere.
- Every message is masked: a value from the environment, a URL's user-info or a
  credential header is never shown (`logproc.masking`).
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from logproc.config.env import substitute
from logproc.config.locate import KeyLines
from logproc.config.schema import Config
from logproc.config.suggest import KeyPath, Mask, did_you_mean, explain, quote
from logproc.errors import ConfigErrors, ConfigIssue
from logproc.masking import masker, secrets_in

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


@dataclass(frozen=True, repr=False)
class LoadedConfig:
    """A valid config, where it came from, and the secret values it holds."""

    config: Config
    path: Path
    secrets: frozenset[str]
    _mask: Mask = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_mask", masker(self.secrets))

    def __repr__(self) -> str:
        # A repr ends up in logs and tracebacks: it shows the config with its secrets masked.
        return self.mask(f"LoadedConfig(config={self.config!r}, path={self.path!r})")

    def mask(self, text: str) -> str:
        """`text` with every secret replaced by `***`."""
        return self._mask(text)


def load(path: str | os.PathLike[str]) -> LoadedConfig:
    # abspath, not resolve(): relative paths follow the name the operator gave, symlink or not.
    where = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    try:
        raw = where.read_bytes()
    except OSError as e:
        issue = ConfigIssue(str(where), None, "", f"cannot read the file: {e.strerror}")
        raise ConfigErrors([issue]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigErrors([ConfigIssue(str(where), line, "", "the file is not valid UTF-8")]) from None
    return load_text(text, where)


def load_text(text: str, path: Path) -> LoadedConfig:
    path = Path(os.path.abspath(path))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigErrors([_syntax_issue(str(e), path, text)]) from None
    subst = substitute(data, os.environ)
    data = _resolve_paths(subst.data, path.parent)
    secrets = subst.secrets | secrets_in(data)
    mask = masker(secrets)
    problems = list(subst.issues) + _cross_check(data)
    config: Config | None = None
    try:
        config = Config.model_validate(data, strict=True)
    except ValidationError as e:
        problems += explain(e.errors(), Config, mask)
    if problems or config is None:
        raise ConfigErrors(_issues(problems, text, path, mask))
    return LoadedConfig(config, path, frozenset(secrets))


def _syntax_issue(message: str, path: Path, text: str) -> ConfigIssue:
    m = _TOML_POSITION.search(message)
    line = int(m.group(1)) if m else (text.count("\n") + 1 if "end of document" in message else None)
    where = f" at column {m.group(2)}" if m else ""
    message = _TOML_POSITION.sub("", message).replace(" (at end of document)", "")
    return ConfigIssue(str(path), line, "", f"TOML syntax error{where}: {message[:1].lower()}{message[1:]}")


def _issues(problems: list[tuple[KeyPath, str]], text: str, path: Path, mask: Mask) -> list[ConfigIssue]:
    lines = KeyLines(text)
    issues = {ConfigIssue(str(path), lines.line(key), render_path(key), mask(msg)): None
              for key, msg in problems}  # a dict: unique, first-seen order
    return sorted(issues, key=lambda i: i.line or 0)  # stable: same-line issues keep their order


def render_path(path: KeyPath) -> str:
    """`("sinks", "my sink", "paths", 0)` -> `sinks."my sink".paths[0]` (TOML's own quoting)."""
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + (seg if _BARE_KEY.fullmatch(seg) else quote(seg))
    return out


def _resolve(value: Any, folder: Path) -> Any:
    if not isinstance(value, str):
        return value  # validation reports the type; nothing to resolve
    expanded = os.path.expanduser(value)
    return os.path.normpath(os.path.join(folder, expanded)) if expanded else expanded


def _resolve_template(value: Any, folder: Path) -> Any:
    """A file sink path: the folder before its first placeholder is resolved; what follows
    is kept as written (normalising it would fold `{source}/..` away before it is checked)."""
    if not isinstance(value, str) or "{" not in value:
        return _resolve(value, folder)
    cut = value.rfind("/", 0, value.index("{")) + 1
    head = _resolve(value[:cut], folder) if cut else str(folder)
    return head.rstrip("/") + "/" + value[cut:]


def _tables(data: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    section = data.get(key)
    return {k: v for k, v in section.items() if isinstance(v, dict)} if isinstance(section, dict) else {}


def _resolve_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Every path the operator may write relative, made absolute (input left untouched)."""
    data = {**data}
    daemon = data.get("daemon")
    if isinstance(daemon, dict) and "state_dir" in daemon:
        data["daemon"] = {**daemon, "state_dir": _resolve(daemon["state_dir"], folder)}
    for name, src in _tables(data, "sources").items():
        new = {**src}
        if isinstance(src.get("paths"), list):
            new["paths"] = [_resolve(p, folder) for p in src["paths"]]
        if isinstance(src.get("exclude"), list):  # a bare `*.gz` matches base names: left as is
            new["exclude"] = [_resolve(p, folder) if isinstance(p, str) and "/" in p else p
                              for p in src["exclude"]]
        data["sources"] = {**data["sources"], name: new}
    for name, sink in _tables(data, "sinks").items():
        if sink.get("type") == "file" and "path" in sink:
            data["sinks"] = {**data["sinks"], name: {**sink, "path": _resolve_template(sink["path"], folder)}}
    for section in ("sources", "sinks"):
        # ca_file, cert_file, key_file, credentials_file, at any depth (`tls = { … }`)
        if _tables(data, section):
            data[section] = {**data[section], **{name: _resolve_files(table, folder)
                                                 for name, table in _tables(data, section).items()}}
    return data


def _resolve_files(table: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`table` with every string under a key ending in `_file` resolved, in nested tables
    and arrays of tables too (a copy; the input is left untouched)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key.endswith("_file") and isinstance(value, str):
            out[key] = _resolve(value, folder)
        elif isinstance(value, dict):
            out[key] = _resolve_files(value, folder)
        elif isinstance(value, list):
            out[key] = [_resolve_files(v, folder) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _cross_check(data: dict[str, Any]) -> list[tuple[KeyPath, str]]:
    sources = data.get("sources")
    problems: list[tuple[KeyPath, str]] = []
    for name, sink in _tables(data, "sinks").items():
        inputs = sink.get("inputs")
        if isinstance(sources, dict) and isinstance(inputs, list):
            for wanted in inputs:
                if isinstance(wanted, str) and wanted not in sources:
                    message = f"unknown source {quote(wanted)} in inputs{did_you_mean(wanted, sources)}"
                    problems.append((("sinks", name, "inputs"), message))
        if sink.get("type") == "file" and isinstance(sink.get("path"), str):
            problem = _sink_path_problem(sink["path"])
            if problem:
                problems.append((("sinks", name, "path"), problem))
    return problems


def _sink_path_problem(path: str) -> str | None:
    try:
        parts = list(string.Formatter().parse(path))
    except ValueError:
        return f'unbalanced "{{" or "}}" in {quote(path)}; the only placeholder allowed is {{source}}'
    # Literal braces ({{ }}) are refused too: whichever way a sink fills in {source}
    # (str.replace or str.format), a path without other braces means the same.
    shown = ["{" + f + (f"!{c}" if c else "") + (f":{s}" if s else "") + "}"
             for _, f, s, c in parts if f is not None]
    bad = [p for p in shown if p != "{source}"] + [b for b in ("{{", "}}") if b in path]
    if bad:
        return f"the only placeholder allowed is {{source}}, got {quote(bad[0])}"
    folder = path[: path.find("{")]
    if shown and not folder.endswith("/"):
        return f'the part before {{source}} must be a folder ending in "/", got {quote(folder)}'
    if shown and any(part in ("..", ".") for part in path[len(folder):].split("/")):
        return f'"." and ".." are not allowed after {{source}}: the path must stay in {quote(folder)}'
    return None
