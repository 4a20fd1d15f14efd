"""Finding the line of a key path in TOML text."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from logproc.config.locate import KeyLines, locate

TEXT = '''\
# a comment naming [fake.header] and key = 1
[daemon]   # trailing comment
queue_size = 5
"quoted key" = 1
'dotted'."c d" . e = 2
notes = """
[not.a.header]
queue_size = 9
"""
raw = \'\'\'
x = 1\'\'\'

[sources."my.app"]
paths = [
  "a",  # inside = "an array"
  "b",
]
fields = { service = "app", nested = { deep = 1 }, list = [1, { z = 2 }] }
"esc\\u0041ped" = 1
when = 1979-05-27 07:32:00
after = true

[[arr]]
k = 1
[arr.sub]
q = 1
[[arr]]
k = 2
'''


def test_text_is_valid_toml() -> None:
    tomllib.loads(TEXT)


def test_headers_and_plain_keys() -> None:
    assert locate(TEXT, ("daemon",)) == 2
    assert locate(TEXT, ("daemon", "queue_size")) == 3
    assert locate(TEXT, ("sources", "my.app")) == 13
    assert locate(TEXT, ("sources",)) == 13  # implied by the header


def test_quoted_and_dotted_keys() -> None:
    assert locate(TEXT, ("daemon", "quoted key")) == 4
    assert locate(TEXT, ("daemon", "dotted", "c d", "e")) == 5
    assert locate(TEXT, ("daemon", "dotted")) == 5
    assert locate(TEXT, ("sources", "my.app", "escAped")) == 19


def test_strings_and_comments_hide_keys() -> None:
    assert locate(TEXT, ("fake", "header")) is None
    assert locate(TEXT, ("not", "a", "header")) is None
    assert locate(TEXT, ("daemon", "notes")) == 6
    assert locate(TEXT, ("daemon", "raw")) == 10
    assert locate(TEXT, ("daemon", "x")) == 2  # inside a string: falls back to the table
    assert locate(TEXT, ("sources", "my.app", "inside")) == 13


def test_arrays() -> None:
    assert locate(TEXT, ("sources", "my.app", "paths")) == 14
    assert locate(TEXT, ("sources", "my.app", "paths", 0)) == 15
    assert locate(TEXT, ("sources", "my.app", "paths", 1)) == 16
    assert locate(TEXT, ("sources", "my.app", "paths", 7)) == 14  # no such element: the key's line


def test_inline_tables() -> None:
    assert locate(TEXT, ("sources", "my.app", "fields", "service")) == 18
    assert locate(TEXT, ("sources", "my.app", "fields", "nested", "deep")) == 18
    assert locate(TEXT, ("sources", "my.app", "fields", "list", 1, "z")) == 18
    assert locate(TEXT, ("sources", "my.app", "after")) == 21  # the line after a date-time with a space


def test_arrays_of_tables() -> None:
    assert locate(TEXT, ("arr", 0)) == 23
    assert locate(TEXT, ("arr", 0, "k")) == 24
    assert locate(TEXT, ("arr", 0, "sub", "q")) == 26
    assert locate(TEXT, ("arr", 1, "k")) == 28


def test_fallback_to_longest_prefix() -> None:
    assert locate(TEXT, ("daemon", "missing")) == 2
    assert locate(TEXT, ("sources", "my.app", "paths", 0, "deeper")) == 15
    assert locate(TEXT, ("sources", "other", "paths")) == 13
    assert locate(TEXT, ("sinks", "out")) is None
    assert locate(TEXT, ()) is None


def test_definition_wins_over_first_mention() -> None:
    text = "[a.b.c]\nx = 1\n[a]\ny = 2\n"
    assert locate(text, ("a",)) == 3
    assert locate(text, ("a", "z")) == 3
    assert locate(text, ("a", "b")) == 1


def test_odd_spacing_and_inline_keys() -> None:
    text = 'a . b = 1\nt = {x=1,y={z=[1,2]}}\n[ s . "q" ]\nk=1\n'
    lines = KeyLines(text)
    assert lines.line(("a", "b")) == 1
    assert lines.line(("t", "y", "z", 1)) == 2
    assert lines.line(("s", "q", "k")) == 4


@settings(max_examples=300, deadline=None, database=None)  # no .hypothesis/ folder left behind
@given(st.text(alphabet='[]{}=,."\'#\n abc\\', max_size=80))
def test_never_raises(text: str) -> None:
    lines = KeyLines(text)
    assert lines.line(("a", "b", 0)) is None or lines.line(("a", "b", 0)) >= 1  # type: ignore[operator]
