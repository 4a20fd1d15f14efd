"""The journald parser on lines as `journalctl -o json --all` prints them (keys in any
order, binary fields as byte arrays, repeated fields as arrays), and the cursor
arithmetic the source uses for a vacuumed checkpoint."""

from __future__ import annotations

import calendar

import orjson

from logproc.sources.journald.journal import cursor_of, same_entry, skipped_between
from logproc.transforms.parse_journald import build_journald_parser

READ = calendar.timegm((2026, 11, 24, 4, 39, 0))
META = {"source": "j", "file": "journald", "host": "me"}
CURSOR = "s=8255abbd;i=2f;b=0123;m=3ea;t=662115733d679;x=e254"


def parse(*objs: object) -> tuple[list[dict], int]:
    lines = [o if isinstance(o, bytes) else orjson.dumps(o) for o in objs]
    return build_journald_parser("j", "me")(lines, "journald", READ)


def test_fields_are_mapped_lower_cased_and_positions_dropped() -> None:
    (entry,), bad = parse({"__CURSOR": CURSOR, "__REALTIME_TIMESTAMP": "1796676477245049",
                           "__MONOTONIC_TIMESTAMP": "1002", "__SEQNUM": "47", "_BOOT_ID": "0123",
                           "_TRANSPORT": "journal", "SYSLOG_IDENTIFIER": "nginx", "PRIORITY": "3",
                           "_PID": "42", "_HOSTNAME": "web1", "MESSAGE": "upstream timed out",
                           "_SYSTEMD_UNIT": "nginx.service", "CODE_LINE": "12"})
    assert bad == 0
    assert entry == {"timestamp": "2026-12-07T20:47:57.245049Z", "level": "error",
                     "message": "upstream timed out", "hostname": "web1", "unit": "nginx.service",
                     "pid": 42, "app_name": "nginx", "_boot_id": "0123", "_transport": "journal",
                     "code_line": "12", **META}
    assert list(entry)[:7] == ["timestamp", "level", "message", "hostname", "unit", "pid", "app_name"]
    assert list(entry)[-3:] == ["source", "file", "host"]


def test_every_priority_gets_the_syslog_level_and_a_bad_one_stays_a_field() -> None:
    entries, _ = parse(*({"MESSAGE": "m", "PRIORITY": str(p)} for p in range(8)), {"MESSAGE": "m", "PRIORITY": "9"})
    assert [e.get("level") for e in entries] == ["critical", "critical", "critical", "error", "warning",
                                                 "notice", "info", "debug", None]
    assert entries[8]["priority"] == "9"


def test_binary_multi_line_and_repeated_values() -> None:
    (entry,), _ = parse({"MESSAGE": list(b"bad \xff\xfe bytes\nsecond line"), "TAG": ["a", "b"],
                         "BLOB": [list(b"x\xff"), "y"], "EMPTY": None})
    assert entry["message"] == "bad \ufffd\ufffd bytes\nsecond line"
    assert entry["tag"] == ["a", "b"]
    assert entry["blob"] == ["x\ufffd", "y"]
    assert entry["empty"] is None
    (entry,), _ = parse({"MESSAGE": ["one", list(b"two\xff")]})
    assert entry["message"] == "one\ntwo\ufffd"


def test_names_taken_by_the_mapping_or_the_metadata_get_a_suffix() -> None:
    (entry,), _ = parse({"MESSAGE": "m", "_SYSTEMD_UNIT": "init.scope", "UNIT": "nginx.service",
                         "HOST": "h", "SOURCE": "s", "FILE": "f", "LEVEL": "x", "PID": "7"})
    assert entry["unit"] == "init.scope"
    assert entry["unit_field"] == "nginx.service"
    assert (entry["host_field"], entry["source_field"], entry["file_field"]) == ("h", "s", "f")
    assert (entry["level_field"], entry["pid_field"]) == ("x", "7")
    assert "level" not in entry and "pid" not in entry
    assert entry["source"] == "j"


def test_missing_time_and_message_and_a_pid_that_is_no_number() -> None:
    (entry,), _ = parse({"_PID": "abc", "__REALTIME_TIMESTAMP": "12"})
    assert entry["timestamp"] == "2026-11-24T04:39:00Z"  # the read time
    assert entry["message"] == ""
    assert entry["pid"] == "abc"


def test_lines_that_are_not_journal_objects_are_kept_with_parse_error() -> None:
    entries, bad = parse(b"not json", b"[1, 2]", {"MESSAGE": "fine"})
    assert bad == 2
    assert entries[0]["message"] == "not json"
    assert entries[0]["parse_error"].startswith("invalid JSON")
    assert entries[1] == {"timestamp": "2026-11-24T04:39:00Z", "message": "[1, 2]", **META,
                          "parse_error": "not a JSON object"}
    assert entries[2]["message"] == "fine" and "parse_error" not in entries[2]


def test_cursor_is_found_anywhere_in_the_line() -> None:
    line = orjson.dumps({"MESSAGE": 'says "__CURSOR"', "__CURSOR": CURSOR, "A": "b"})
    assert cursor_of(line) == CURSOR
    assert cursor_of(b'{"MESSAGE":"x"}') is None
    assert cursor_of(b"garbage") is None


def test_cursor_arithmetic_for_a_vacuumed_checkpoint() -> None:
    later = "s=8255abbd;i=40;b=0123;m=3fa;t=662115733d779;x=1"
    other = "s=99999999;i=1;b=0123;m=3fa;t=662115733d779;x=1"
    assert same_entry(CURSOR, CURSOR.replace("x=e254", "x=e254"))
    assert not same_entry(CURSOR, later)
    assert skipped_between(CURSOR, later) == 0x40 - 0x2F - 1
    assert skipped_between(CURSOR, other) is None
