"""The syslog parser on real-world lines: RFC 5424 (the RFC's own examples), RFC 3164 with
and without PRI, and the file format Debian's rsyslog writes."""

from __future__ import annotations

import calendar
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from logproc.transforms.parse_syslog import build_syslog_parser

META = {"source": "sys", "file": "/var/log/syslog", "host": "me"}
READ = calendar.timegm((2026, 11, 24, 4, 39, 0))  # 2026-11-24T04:39:00Z


def parse(line: bytes, tz=UTC, read=READ):
    entries, bad = build_syslog_parser("sys", "me", tz)([line], "/var/log/syslog", read)
    assert len(entries) == 1
    return entries[0], bad


def test_rfc5424_with_bom_and_no_structured_data() -> None:
    entry, bad = parse(b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                       b"\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8")
    assert bad == 0
    assert entry == {"timestamp": "2003-10-11T22:14:15.003Z", "level": "critical",
                     "message": "'su root' failed for lonvick on /dev/pts/8", "facility": "auth",
                     "hostname": "mymachine.example.com", "app_name": "su", "msgid": "ID47", **META}
    assert list(entry)[:3] == ["timestamp", "level", "message"]


def test_rfc5424_time_with_offset_becomes_utc_and_nil_fields_are_left_out() -> None:
    entry, _ = parse(b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
                     b"%% It's time to make the do-nuts.")
    assert entry == {"timestamp": "2003-08-24T12:14:15.000003Z", "level": "notice",
                     "message": "%% It's time to make the do-nuts.", "facility": "local4",
                     "hostname": "192.0.2.1", "app_name": "myproc", "procid": "8710", **META}


def test_rfc5424_structured_data_with_escapes_and_two_elements() -> None:
    entry, _ = parse(b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
                     b'[exampleSDID@32473 iut="3" eventSource="Appl\\"ic\\]a\\\\tion" eventID="1011"]'
                     b'[examplePriority@32473 class="high"] An application event log entry')
    assert entry["structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'Appl"ic]a\\tion', "eventID": "1011"},
        "examplePriority@32473": {"class": "high"}}
    assert entry["message"] == "An application event log entry"
    assert entry["msgid"] == "ID47" and "procid" not in entry


def test_rfc5424_blank_after_equals_is_read_as_the_param() -> None:
    """`eventSource= "Application"` is read as eventSource = Application, as Vector reads it."""
    entry, bad = parse(b'<165>1 2003-10-11T22:14:15.003Z host app - ID47 [exampleSDID@32473 iut="3" '
                       b'eventSource= "Application" eventID="1011"] msg')
    assert bad == 0
    assert entry == {"timestamp": "2003-10-11T22:14:15.003Z", "level": "notice", "message": "msg",
                     "facility": "local4", "hostname": "host", "app_name": "app", "msgid": "ID47",
                     "structured_data": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application",
                                                               "eventID": "1011"}}, **META}
    assert list(entry["structured_data"]["exampleSDID@32473"]) == ["iut", "eventSource", "eventID"]


@pytest.mark.parametrize("sd", [b'[id a ="b"]', b'[id a=b c="d"]', b'[id  a="b"]', b'[id a"b="c"]',
                                b'[id ="b"]'])
def test_rfc5424_malformed_param_is_a_bad_line_not_an_invented_name(sd: bytes) -> None:
    """A param that is not NAME=[blanks]"VALUE" makes a bad line, kept whole."""
    line = b"<14>1 2003-10-11T22:14:15Z host app - - " + sd + b" msg"
    entry, bad = parse(line)
    assert bad == 1
    assert entry == {"timestamp": "2026-11-24T04:39:00Z", "message": line.decode(), **META,
                     "parse_error": "not a syslog line"}


def test_rfc5424_without_message_and_without_time() -> None:
    entry, bad = parse(b"<14>1 - host app - - [id@1 a=\"b\"]")
    assert bad == 0
    assert entry["timestamp"] == "2026-11-24T04:39:00Z"  # read time
    assert entry["message"] == "" and entry["structured_data"] == {"id@1": {"a": "b"}}


def test_rfc3164_with_pri() -> None:
    entry, _ = parse(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert entry == {"timestamp": "2026-10-11T22:14:15Z", "level": "critical",
                     "message": "'su root' failed for lonvick on /dev/pts/8", "facility": "auth",
                     "hostname": "mymachine", "app_name": "su", **META}


@pytest.mark.parametrize(("line", "fields"), [
    (b"Nov 24 04:00:01 debian CRON[1234]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
     {"timestamp": "2026-11-24T04:00:01Z", "message": "(root) CMD (command -v debian-sa1 > /dev/null && "
      "debian-sa1 1 1)", "hostname": "debian", "app_name": "CRON", "procid": "1234"}),
    (b"2026-11-24T04:00:01.123456+00:00 debian systemd[1]: Started session-1.scope - Session 1 of User root.",
     {"timestamp": "2026-11-24T04:00:01.123456Z", "message": "Started session-1.scope - Session 1 of User root.",
      "hostname": "debian", "app_name": "systemd", "procid": "1"}),
    (b"Nov  3 07:05:09 debian kernel: [    0.000000] Linux version 6.1.0-13-amd64",
     {"timestamp": "2026-11-03T07:05:09Z", "message": "[    0.000000] Linux version 6.1.0-13-amd64",
      "hostname": "debian", "app_name": "kernel"}),
    (b"Nov 24 04:00:01 debian -- MARK --",
     {"timestamp": "2026-11-24T04:00:01Z", "message": "-- MARK --", "hostname": "debian"}),
])
def test_debian_syslog_file_lines(line: bytes, fields: dict) -> None:
    entry, bad = parse(line)
    assert bad == 0
    assert entry == {**fields, **META}


@pytest.mark.parametrize(("line", "items"), [
    (b"<133>Jun 13 16:33:35 haproxy[73411]: msg",
     [("timestamp", "2026-06-13T16:33:35Z"), ("level", "notice"), ("message", "msg"),
      ("facility", "local0"), ("app_name", "haproxy"), ("procid", "73411")]),
    (b"Jun 13 16:33:35 haproxy[73411]: msg",
     [("timestamp", "2026-06-13T16:33:35Z"), ("message", "msg"), ("app_name", "haproxy"),
      ("procid", "73411")]),
])
def test_rfc3164_without_hostname(line: bytes, items: list) -> None:
    """`TAG[PID]:` right after the time (haproxy to a local socket) means no hostname."""
    entry, bad = parse(line)
    assert bad == 0
    assert list(entry.items()) == [*items, *META.items()]


@pytest.mark.parametrize(("line", "fields"), [
    (b"Jun 13 16:33:35 su: (to root) alice on pts/0",
     {"timestamp": "2026-06-13T16:33:35Z", "message": "(to root) alice on pts/0", "app_name": "su"}),
    (b"2026-06-13T16:33:35.5+00:00 haproxy[73411]: msg",
     {"timestamp": "2026-06-13T16:33:35.500Z", "message": "msg", "app_name": "haproxy",
      "procid": "73411"}),
    (b"<133>Jun 13 16:33:35 haproxy[73411]:",
     {"timestamp": "2026-06-13T16:33:35Z", "level": "notice", "message": "", "facility": "local0",
      "app_name": "haproxy", "procid": "73411"}),
])
def test_rfc3164_without_hostname_other_forms(line: bytes, fields: dict) -> None:
    """`TAG:` without PID, the RFC 3339 time, and an empty message: still no hostname."""
    entry, bad = parse(line)
    assert bad == 0
    assert entry == {**fields, **META}


@pytest.mark.parametrize(("line", "fields"), [
    (b"Jun 13 16:33:35 web-1 sshd[12]: Accepted publickey for root from 192.0.2.7 port 50000 ssh2",
     {"timestamp": "2026-06-13T16:33:35Z", "message": "Accepted publickey for root from 192.0.2.7 "
      "port 50000 ssh2", "hostname": "web-1", "app_name": "sshd", "procid": "12"}),
    (b"<133>Jun 13 16:33:35 haproxy haproxy[73411]: msg",
     {"timestamp": "2026-06-13T16:33:35Z", "level": "notice", "message": "msg", "facility": "local0",
      "hostname": "haproxy", "app_name": "haproxy", "procid": "73411"}),
    (b"Jun 13 16:33:35 haproxy started: ok",
     {"timestamp": "2026-06-13T16:33:35Z", "message": "ok", "hostname": "haproxy",
      "app_name": "started"}),
    (b"Jun 13 16:33:35 haproxy -- MARK --",
     {"timestamp": "2026-06-13T16:33:35Z", "message": "-- MARK --", "hostname": "haproxy"}),
])
def test_rfc3164_first_word_without_colon_is_the_hostname(line: bytes, fields: dict) -> None:
    """A first word not ending in `:` is the hostname, even one that reads like a program name."""
    entry, bad = parse(line)
    assert bad == 0
    assert entry == {**fields, **META}


def test_structured_data_params_named_like_the_metadata_stay_nested() -> None:
    """Syslog has no field named `source` or `file`: such SD params stay in structured_data."""
    entry, _ = parse(b'<14>1 2003-10-11T22:14:15Z host app - - [origin@1 source="x" file="y"] m')
    assert entry["structured_data"] == {"origin@1": {"source": "x", "file": "y"}}
    assert [(key, entry[key]) for key in ("source", "file", "host")] == list(META.items())


def test_rfc3164_time_is_read_in_the_source_zone() -> None:
    entry, _ = parse(b"Nov 24 05:00:01 debian app: x", tz=ZoneInfo("Europe/Paris"))
    assert entry["timestamp"] == "2026-11-24T04:00:01Z"


def test_rfc3164_year_is_the_previous_one_when_the_line_would_be_in_the_future() -> None:
    january = calendar.timegm((2027, 1, 2, 0, 0, 0))
    entry, _ = parse(b"Dec 31 23:59:59 debian app: late", read=january)
    assert entry["timestamp"] == "2026-12-31T23:59:59Z"
    entry, _ = parse(b"Jan  1 00:00:01 debian app: new year", read=january)
    assert entry["timestamp"] == "2027-01-01T00:00:01Z"


@pytest.mark.parametrize("line", [b"garbage line", b"<999>1 bad", b"<34>1 2003-10-11T22:14:15Z host",
                                  b"Foo 11 22:14:15 host app: x", b"<13>1 - h a - - [unterminated x=\"y\"",
                                  b""])
def test_bad_lines_are_kept_whole_with_parse_error(line: bytes) -> None:
    entry, bad = parse(line)
    assert bad == 1
    assert entry["message"] == line.decode() and entry["parse_error"] == "not a syslog line"
    assert entry["timestamp"] == "2026-11-24T04:39:00Z"
