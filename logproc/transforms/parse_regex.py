"""``parser = "regex"``: the source's ``pattern``; its named groups become fields.

The pattern is searched (not anchored: write ``^`` to anchor) in the decoded line. Groups
that did not take part in the match are omitted; the others are strings, in the pattern's
order. A group named ``timestamp``, ``level`` or ``message`` fills that field of the entry
(the time parsed as in :mod:`.timestamps`, a refused one kept in ``timestamp_raw``; the level
normalised); without a ``message`` group the message is the whole line. Unnamed groups are
ignored. A line the pattern does not match is a bad line (``pattern did not match``).

Limits: the pattern runs on Python's backtracking engine; its size is bounded by the config
and the line by ``max_line_bytes`` before the pattern sees it.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from logproc.transforms.base import Entry, Parser, decode
from logproc.transforms.structured import build_structured

NO_MATCH = "pattern did not match"


def build_regex_parser(name: str, host: str, tz: tzinfo | None, pattern: str) -> Parser:
    """The regex parser of source ``name``. Raises ``re.error`` for an invalid pattern."""
    search = re.compile(pattern).search

    def fields_of(line: bytes) -> dict[str, Any]:
        match = search(decode(line))
        if match is None:
            raise ValueError(NO_MATCH)
        return {key: value for key, value in match.groupdict().items() if value is not None}

    def explain(line: bytes) -> Entry | str:
        return NO_MATCH

    return build_structured(
        name, host, tz, fields_of, explain,
        time_keys=("timestamp",), level_keys=("level",), message_keys=("message",),
    )
