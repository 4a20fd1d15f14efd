"""Output formats: json, logfmt, text and raw, batch in, exact bytes out."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from logproc.sinks.formats import build_formatter, compile_template, needs_entries
from logproc.transforms.parse_logfmt import parse_logfmt


def sink(**keys: Any) -> Any:
    """A stand-in for a sink config: only the attributes the formats read."""
    return SimpleNamespace(**{"format": "json", "template": None, "min_level": None, "include": {},
                              "exclude": {}, **keys})


def fmt(entries: list[dict[str, Any]] | None, raws: list[bytes] | None = None, **keys: Any) -> bytes:
    return build_formatter(sink(**keys))(entries, raws or [])


class TestJson:
    def test_one_object_per_line_in_key_order(self) -> None:
        """Keys in entry order, UTF-8 as is, escapes by JSON, non-JSON values as str()."""
        entry = {"timestamp": "2024-05-01T00:00:00Z", "level": "info", "message": 'café "q"\n',
                 "n": 1, "f": 1.5, "ok": True, "none": None, "nested": {"a": [1, 2]},
                 "path": Path("/x"), "amount": Decimal("2.50")}
        expected = ('{"timestamp":"2024-05-01T00:00:00Z","level":"info","message":"café \\"q\\"\\n",'
                    '"n":1,"f":1.5,"ok":true,"none":null,"nested":{"a":[1,2]},"path":"/x","amount":"2.50"}\n')
        assert fmt([entry]) == expected.encode()

    def test_several_entries(self) -> None:
        """Each entry is one line ending in a newline."""
        assert fmt([{"a": 1}, {"b": "x"}]) == b'{"a":1}\n{"b":"x"}\n'

    def test_value_orjson_refuses(self) -> None:
        """An int past 64 bits goes through the standard library for that entry only."""
        assert fmt([{"a": 1}, {"big": 2**70, "message": "m"}]) == (
            b'{"a":1}\n{"big":1180591620717411303424,"message":"m"}\n'
        )

    def test_empty_batch(self) -> None:
        """No entries, no bytes."""
        assert fmt([]) == b""


class TestLogfmt:
    def test_quoting_and_escaping(self) -> None:
        """Quote on blank, quote, = or control; escape quote, backslash and controls; one line."""
        entry = {"timestamp": "2024-05-01T00:00:00Z", "level": "info", "message": "hello world",
                 "path": "/a=b", "quote": 'say "hi"', "back": "C:\\dir", "both": 'a "b\\c"',
                 "nl": "a\nb\tc\x01", "empty": "", "none": None, "ok": True, "no": False, "n": 42,
                 "f": 0.5, "obj": {"a": 1}, "list": [1, "x"], "city": "Zürich"}
        expected = ('timestamp=2024-05-01T00:00:00Z level=info message="hello world" path="/a=b" '
                    'quote="say \\"hi\\"" back=C:\\dir both="a \\"b\\\\c\\"" nl="a\\nb\\tc\\u0001" '
                    'empty= none= ok=true no=false n=42 f=0.5 obj="{\\"a\\":1}" list="[1,\\"x\\"]" '
                    'city=Zürich\n')
        assert fmt([entry], format="logfmt") == expected.encode()

    def test_keys_are_made_safe(self) -> None:
        """Blanks, = and quotes in keys become underscores; an empty key is `_`."""
        assert fmt([{"bad key=": "v", 'q"k': 1, "": 2}], format="logfmt") == b'bad_key_=v q_k=1 _=2\n'

    def test_several_entries(self) -> None:
        """One record per line."""
        assert fmt([{"a": "1"}, {"b": "2"}], format="logfmt") == b"a=1\nb=2\n"

    @pytest.mark.parametrize(
        "value", ["plain", "two words", 'q"uote', "back\\slash", "eq=ual", "line\nbreak\r\n",
                  "tab\there", "nbsp\u00a0here", "ctl\x07", "trailing\\", '"', "ünï cödé"]
    )
    def test_round_trip_with_parser(self, value: str) -> None:
        """What the logfmt format writes, the logfmt parser reads back unchanged."""
        line = fmt([{"k": value, "z": "1"}], format="logfmt").decode().rstrip("\n")
        assert "\n" not in line
        assert parse_logfmt(line) == {"k": value, "z": "1"}

    def test_empty_batch(self) -> None:
        """No entries, no bytes."""
        assert fmt([], format="logfmt") == b""


class TestText:
    def test_default_template(self) -> None:
        """`{timestamp} {level} [{source}] {message}`; a missing level renders empty."""
        entries = [{"timestamp": "2024-05-01T00:00:00Z", "level": "error", "message": "boom",
                    "source": "app"},
                   {"timestamp": "2024-05-01T00:00:01Z", "message": "no level", "source": "app"}]
        assert fmt(entries, format="text") == (
            b"2024-05-01T00:00:00Z error [app] boom\n2024-05-01T00:00:01Z  [app] no level\n"
        )

    def test_custom_template(self) -> None:
        """Literal braces, missing fields, non-string values."""
        entry = {"message": "hi", "status": 200, "ok": True, "none": None, "obj": {"a": [1]}}
        template = "{{lit}} {message} status={status} ok={ok} none={none} obj={obj} gone={missing}!"
        assert fmt([entry], format="text", template=template) == (
            b'{lit} hi status=200 ok=true none= obj={"a":[1]} gone=!\n'
        )

    def test_newlines_escaped(self) -> None:
        """A value with line breaks stays on one line."""
        entry = {"message": "a\nb\r\nc"}
        assert fmt([entry], format="text", template="{message}") == b"a\\nb\\r\\nc\n"

    def test_compile_template(self) -> None:
        """The template compiles once into literal/field parts."""
        assert compile_template("{timestamp} [{source}] {{x}}") == [
            ("", "timestamp"), (" [", "source"), ("] {", None), ("x}", None),
        ]


class TestRaw:
    def test_lines_exactly(self) -> None:
        """The raw lines exactly as read, each plus a newline; entries are not read."""
        assert fmt(None, [b"a", b"b\xff", b'{"x":1}'], format="raw") == b'a\nb\xff\n{"x":1}\n'

    def test_empty_batch(self) -> None:
        """No lines, no bytes."""
        assert fmt(None, [], format="raw") == b""


class TestBuild:
    @pytest.mark.parametrize(
        ("keys", "needed"),
        [
            ({"format": "raw"}, False),
            ({"format": "raw", "min_level": "error"}, True),
            ({"format": "raw", "include": {"message": "x"}}, True),
            ({"format": "raw", "exclude": {"message": "x"}}, True),
            ({"format": "json"}, True),
            ({"format": "text"}, True),
        ],
    )
    def test_needs_entries(self, keys: dict[str, Any], needed: bool) -> None:
        """Only an unfiltered raw sink can skip parsing."""
        assert needs_entries(sink(**keys)) is needed

    def test_unknown_format(self) -> None:
        """An unknown format is refused."""
        with pytest.raises(ValueError, match="unknown format"):
            build_formatter(sink(format="xml"))
