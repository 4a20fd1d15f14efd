"""Secrets are never written: one masking function for every writer of the daemon.

What counts as a secret (collected when a config is loaded, `secrets_in`):
- every non-empty value substituted from `${NAME}` (see `logproc.config.env`);
- the user-info of every URL in the config (`https://user:pass@host/`): the password, the
  `user:password` pair and the `Basic` credential made of it (the base64 a server may echo
  back in an error body);
- the value of every header whose name says it carries a credential (`Authorization`,
  `Proxy-Authorization`, `Cookie`, and any name containing `token`, `key`, `secret`,
  `auth`, `password`, `session` or `signature`), and for a `Scheme credentials` value
  (`Bearer abc`) the credentials alone;
- the value of every key named like a password or token (`password`, `token`, `secret`, …)
  anywhere in the config (sink tables added later, such as `sasl.password`, are covered).

`mask(text)` replaces each of them by `***`, longest first, in one pass. The process-wide
masker is installed from the running config (`install`, again on reload) and used by the
daemon's own log (tracebacks included), error messages, the dead-letter file's `reason`
and `response`, `/health`; `logproc check` masks its report with the config's own.
Entries themselves are data and are never altered (a dead letter's `entry` is the entry as
it would have been sent, so it can be sent again).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

Mask = Callable[[str], str]

_SENSITIVE_HEADER = re.compile(r"authorization|cookie|token|key|secret|auth|passw|session|signature",
                               re.IGNORECASE)
_SENSITIVE_KEY = re.compile(r"^(password|passwd|token|secret|api_key|key_password|credentials?)$",
                            re.IGNORECASE)


def masker(secrets: Iterable[str]) -> Mask:
    """A function replacing every secret in a text with `***`."""
    # Longest first, in one pass: a secret that contains another is masked whole.
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not ordered:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, ordered)))
    return lambda text: pattern.sub("***", text)


def _header_secrets(name: str, value: str) -> list[str]:
    if not _SENSITIVE_HEADER.search(name):
        return []
    scheme, _, credentials = value.strip().partition(" ")
    out = [value, value.strip()]
    if credentials.strip() and scheme.isalpha():
        out.append(credentials.strip())
    return out


def _url_secrets(text: str) -> list[str]:
    if "://" not in text or "@" not in text:
        return []
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return []
    if not parts.password and not parts.username:
        return []
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    pair = f"{user}:{password}"
    raw = parts.netloc.rpartition("@")[0]
    return [raw, pair, password, base64.b64encode(pair.encode("utf-8")).decode("ascii")]


def secrets_in(data: Any) -> set[str]:
    """The secrets a config holds (the parsed TOML after `${NAME}` substitution)."""
    found: set[str] = set()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if key == "headers" and isinstance(v, str):
                    found.update(_header_secrets(str(k), v))
                walk(v, str(k))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if _SENSITIVE_KEY.match(key):
                found.add(value)
            found.update(_url_secrets(value))

    walk(data, "")
    found.discard("")
    return found


_installed: Mask = lambda text: text  # noqa: E731


def install(mask: Mask) -> None:
    """Install the running config's masker for every writer (replaced on reload)."""
    global _installed
    _installed = mask


def mask(text: str) -> str:
    """`text` with every secret of the running config replaced by `***`."""
    return _installed(text)
