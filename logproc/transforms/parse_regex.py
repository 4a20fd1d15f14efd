"""``parser = "regex"``: the source's ``pattern``; its named groups become fields.

The pattern is searched (not anchored: write ``^`` to anchor) in the decoded line. Groups
that did not take part in the match are omitted; the others are strings, in the pattern's
order. A group named ``timestamp``, ``level`` or ``message`` fills that field of the entry
(the time parsed as in :mod:`.timestamps`, a refused one kept in ``timestamp_raw``; the level
normalised); without a ``message`` group the message is the whole line. Unnamed groups are
ignored. A line the pattern does not match is a bad line (``pattern did not match``).

Limits: the pattern runs on RE2 (:mod:`logproc.patterns`), in time linear in the line, which
``max_line_bytes`` bounds before the pattern sees it; its size is bounded by the config.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from logproc.patterns import compile_pattern, utf8
from logproc.transforms.base import Entry, Parser
from logproc.transforms.structured import build_structured

NO_MATCH = "pattern did not match"


def build_regex_parser(name: str, host: str, tz: tzinfo | None, pattern: str) -> Parser:
    """The regex parser of source ``name``. Raises ``PatternError`` for an invalid pattern."""
    groups = compile_pattern(pattern).groups

    def fields_of(line: bytes) -> dict[str, Any]:
        fields = groups(utf8(line))
        if fields is None:
            raise ValueError(NO_MATCH)
        return fields

    def explain(line: bytes) -> Entry | str:
        return NO_MATCH

    return build_structured(
        name, host, tz, fields_of, explain,
        time_keys=("timestamp",), level_keys=("level",), message_keys=("message",),
    )
