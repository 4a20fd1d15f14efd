"""What the linear-time engine costs: operator patterns on RE2 (logproc.patterns) against
the same patterns on Python's backtracking `re`, one batch of BATCH lines each.

- `parse`: an operator's regex for nginx's combined format (J3's lines), named groups to
  fields, as `parser = "regex"` does;
- `filter`: J2's `exclude = { level = "^debug$" }` is a plain anchored literal, tested by set
  membership on either engine; `level_regex` is the same intent written as a regex
  (`^(debug|trace)$`), repeated values from the memo; `message_search` searches each
  (distinct) message, no memo possible;
- `redact`: a user redact pattern over every string field.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from logproc.patterns import compile_pattern

COMBINED = (r'(?P<remote_addr>\S+) \S+ (?P<remote_user>\S+) \[(?P<time>[^\]]+)\] '
            r'"(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]+)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
            r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)"')


def _re_groups(pattern: str) -> Any:
    search = re.compile(pattern).search

    def groups(line: bytes) -> dict[str, str] | None:
        m = search(line.decode("utf-8", "replace"))
        return None if m is None else {k: v for k, v in m.groupdict().items() if v is not None}

    return groups


@pytest.mark.parametrize("engine", ["re", "re2"])
def test_parse_combined(benchmark, nginx_lines, engine: str) -> None:
    groups = _re_groups(COMBINED) if engine == "re" else compile_pattern(COMBINED).groups

    def parse() -> int:
        return sum(1 for line in nginx_lines if groups(line) is not None)

    assert benchmark(parse) == len(nginx_lines)


@pytest.mark.parametrize("engine", ["re", "re2"])
@pytest.mark.parametrize("case", ["level_regex", "message_search"])
def test_filter(benchmark, json_lines, engine: str, case: str) -> None:
    entries = [orjson.loads(line) for line in json_lines]
    field, pattern = ("level", "^(debug|trace)$") if case == "level_regex" else ("message", r"user:\d+7:")
    compiled = compile_pattern(pattern)
    found = re.compile(pattern).search if engine == "re" else compiled.found
    values = [e[field] for e in entries]

    def run() -> int:
        return sum(1 for v in values if found(v))

    def forget() -> None:
        if case == "message_search":
            compiled._memo.clear()  # distinct messages: every round misses the memo, as in life

    assert benchmark.pedantic(run, setup=forget, rounds=200) > 0


@pytest.mark.parametrize("engine", ["re", "re2"])
def test_redact(benchmark, json_lines, engine: str) -> None:
    entries = [orjson.loads(line) for line in json_lines]
    pattern = r"user:\d+"
    compiled = compile_pattern(pattern)
    sub = re.compile(pattern).sub if engine == "re" else compiled.sub
    values = [v for e in entries for v in e.values() if isinstance(v, str)]
    # messages and ids are new in each batch, levels and names repeat: only the latter may
    # come from the memo in a round
    fresh = {v for v in values if values.count(v) == 1}

    def run() -> int:
        return sum(1 for v in values if sub("[REDACTED]", v) is not v)

    def forget() -> None:
        for v in fresh:
            compiled._subs.pop(v, None)

    assert benchmark.pedantic(run, setup=forget, rounds=200) > 0
