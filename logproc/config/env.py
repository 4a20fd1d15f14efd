"""`${NAME}` substitution in a parsed config.

Contract:
- Runs on the parsed TOML data, so it reaches every string value, nested in tables and
  lists, and never a key; a value can therefore not change the file's structure.
- `${NAME}` is replaced by the environment variable NAME (letters, digits, `_`, not
  starting with a digit); `$${` is a literal `${`; any other `${` is a problem.
- A missing variable is a problem at that value's key path; it is replaced by "" so the
  rest of the value still validates without echoing a half-substituted placeholder.
- Every non-empty substituted value is returned as a secret, to be masked wherever the
  daemon writes (a value from the environment is assumed to be a token until proven not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from logproc.config.suggest import KeyPath, quote

_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


@dataclass
class Substitution:
    """The outcome of `substitute`: the new data, the secrets it now holds, what went wrong."""

    data: dict[str, Any]
    secrets: set[str] = field(default_factory=set)
    issues: list[tuple[KeyPath, str]] = field(default_factory=list)


def substitute(data: dict[str, Any], environ: Mapping[str, str]) -> Substitution:
    result = Substitution(data={})
    result.data = _walk(data, (), environ, result)
    return result


def _walk(value: Any, path: KeyPath, environ: Mapping[str, str], result: Substitution) -> Any:
    if isinstance(value, str):
        return _expand(value, path, environ, result)
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), environ, result) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), environ, result) for i, v in enumerate(value)]
    return value


def _expand(text: str, path: KeyPath, environ: Mapping[str, str], result: Substitution) -> str:
    if "${" not in text:  # the common case, and the only cheap one
        return text

    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name = m.group("name")
        if name is None:
            result.issues.append((path, 'invalid "${": write ${NAME} with NAME made of letters, digits '
                                        'and "_", or $${ for a literal "${"'))
            return m.group(0)
        if name not in environ:
            result.issues.append((path, f"environment variable {quote(name)} is not set"))
            return ""
        if environ[name]:
            result.secrets.add(environ[name])
        return environ[name]

    return _REFERENCE.sub(replace, text)
