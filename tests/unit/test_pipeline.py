"""The source pipeline: parser chosen by config, line_part, transforms in spec order."""

from __future__ import annotations

import typing
from types import SimpleNamespace
from typing import Any

import pytest

from logproc.sources.file.config import SourceConfig
from logproc.transforms import PARSERS, build_source_pipeline

PATH = "/var/log/app.log"
READ = 1717200000.0
READ_TS = "2024-06-01T00:00:00Z"
META = [("source", "app"), ("file", PATH), ("host", "web-1")]


def source(**keys: Any) -> Any:
    """A stand-in for a source config: only the attributes the pipeline reads."""
    return SimpleNamespace(**{"parser": "json", "pattern": None, "timezone": "UTC", "fields": {},
                              "drop_fields": [], "rename": {}, "redact": [], **keys})


def run(lines: list[bytes], parts: list[int] | None = None, **keys: Any) -> tuple[list[Any], int]:
    pipeline = build_source_pipeline("app", source(**keys), "web-1")
    entries, n_bad = pipeline(lines, parts, PATH, READ)
    return [list(entry.items()) for entry in entries], n_bad


class TestParsers:
    def test_every_configurable_parser_exists(self) -> None:
        """Each parser the config accepts has a builder; the others are those source kinds
        choose themselves (the journald source's)."""
        accepted = set(typing.get_args(SourceConfig.model_fields["parser"].annotation))
        assert accepted == {"plain", "json", "logfmt", "regex", "syslog", "combined", "common"}
        assert set(PARSERS) == accepted | {"journald"}

    def test_unknown_parser(self) -> None:
        """A parser without a builder is refused at build time."""
        with pytest.raises(ValueError, match="unknown parser"):
            build_source_pipeline("app", source(parser="xml"), "web-1")

    def test_regex_pattern_from_config(self) -> None:
        """parser = regex uses the source's pattern."""
        entries, _ = run([b"E boom"], parser="regex", pattern=r"(?P<level>\w) (?P<message>.*)")
        assert entries == [[("timestamp", READ_TS), ("level", "E"), ("message", "boom"), *META]]

    def test_timezone_from_config(self) -> None:
        """Times without a zone are read in the source's timezone."""
        entries, _ = run([b'{"time":"2024-05-01 10:00:00","msg":"m"}'], timezone="Europe/Paris")
        assert entries == [[("timestamp", "2024-05-01T08:00:00Z"), ("message", "m"), *META]]

    def test_combined_from_config(self) -> None:
        """parser = combined reads access logs."""
        line = b'1.2.3.4 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"'
        entries, n_bad = run([line], parser="combined")
        assert dict(entries[0])["status"] == 200
        assert n_bad == 0

    def test_empty_batch(self) -> None:
        """No lines, no entries."""
        assert run([]) == ([], 0)


class TestLinePart:
    def test_pieces_carry_line_part(self) -> None:
        """Pieces of a cut line carry line_part; a bad piece has it before parse_error."""
        entries, n_bad = run([b'{"message":"whole"}', b'{"message":"cut', b'tail"}'], parts=[0, 1, 2])
        assert n_bad == 2
        assert entries[0] == [("timestamp", READ_TS), ("message", "whole"), *META]
        assert [key for key, _ in entries[1]] == [
            "timestamp", "message", "source", "file", "host", "line_part", "parse_error",
        ]
        assert dict(entries[1])["line_part"] == 1
        assert dict(entries[2])["line_part"] == 2

    def test_good_piece(self) -> None:
        """A piece that parses gets line_part after the metadata."""
        entries, _ = run([b"msg=first"], parts=[1], parser="logfmt")
        assert entries == [[("timestamp", READ_TS), ("message", "first"), *META, ("line_part", 1)]]


class TestTransforms:
    LINE = (b'{"timestamp":"2024-05-01T00:00:00Z","level":"INFO","message":"user bob@example.com in",'
            b'"user":"bob@example.com","password":"hunter2","msg2":"x"}')

    def test_all_in_order(self) -> None:
        """parse, rename, drop_fields, fields, redact; static values are redacted too."""
        entries, _ = run(
            [self.LINE], rename={"user": "email", "msg2": "detail"}, drop_fields=["password"],
            fields={"env": "prod", "owner": "ops@example.com", "host": "bench"}, redact=["email"],
        )
        assert entries == [[
            ("timestamp", "2024-05-01T00:00:00Z"), ("level", "info"), ("message", "user [REDACTED] in"),
            ("email", "[REDACTED]"), ("detail", "x"), ("source", "app"), ("file", PATH),
            ("host", "bench"), ("env", "prod"), ("owner", "[REDACTED]"),
        ]]

    def test_rename_before_drop(self) -> None:
        """A field renamed to a dropped name is dropped."""
        entries, _ = run([b'{"message":"m","secret":"s"}'], rename={"secret": "password"},
                         drop_fields=["password"])
        assert entries == [[("timestamp", READ_TS), ("message", "m"), *META]]

    def test_fields_after_drop(self) -> None:
        """A static field survives a drop of the same name (it is added afterwards)."""
        entries, _ = run([b'{"message":"m","env":"dev"}'], drop_fields=["env"], fields={"env": "prod"})
        assert entries == [[("timestamp", READ_TS), ("message", "m"), *META, ("env", "prod")]]

    def test_bad_lines_are_transformed_too(self) -> None:
        """A bad line is an entry like any other for the transforms."""
        entries, n_bad = run([b"token=abc bob@example.com"], redact=["email"], fields={"env": "prod"})
        assert n_bad == 1
        error = dict(entries[0])["parse_error"]
        assert error.startswith("invalid JSON: ")
        assert entries == [[
            ("timestamp", READ_TS), ("message", "token=abc [REDACTED]"), *META,
            ("parse_error", error), ("env", "prod"),
        ]]
