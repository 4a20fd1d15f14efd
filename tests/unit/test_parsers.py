"""Parsers: json, logfmt, regex, combined/common and plain, line in, exact entry out."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from logproc.transforms.parse_access import build_access_parser, clf_time
from logproc.transforms.parse_json import build_json_parser
from logproc.transforms.parse_logfmt import _TOKENS, _split_quoted, build_logfmt_parser, parse_logfmt
from logproc.transforms.parse_plain import build_plain_parser
from logproc.transforms.parse_regex import build_regex_parser

PATH = "/var/log/app.log"
READ = 1717200000.0  # the batch's read time
READ_TS = "2024-06-01T00:00:00Z"
META = [("source", "app"), ("file", PATH), ("host", "web-1")]


def run(parser: Any, *lines: bytes) -> tuple[list[list[tuple[str, Any]]], int]:
    entries, n_bad = parser(list(lines), PATH, READ)
    return [list(entry.items()) for entry in entries], n_bad


def one(parser: Any, line: bytes) -> list[tuple[str, Any]]:
    entries, _ = run(parser, line)
    return entries[0]


@pytest.fixture(name="json_parser")
def fixture_json_parser() -> Any:
    return build_json_parser("app", "web-1", UTC)


@pytest.fixture(name="logfmt_parser")
def fixture_logfmt_parser() -> Any:
    return build_logfmt_parser("app", "web-1", UTC)


class TestJson:
    def test_application_line(self, json_parser: Any) -> None:
        """A typical app line: timestamp, level, message first, other keys in line order."""
        line = (b'{"timestamp":"2024-05-01T00:00:03.123Z","level":"info","logger":"app.api.orders",'
                b'"message":"GET /api/v1/orders/123 completed with status 200",'
                b'"request_id":"5f1c2b3a4d5e6f70","user_id":4242,"duration_ms":12.34}')
        assert one(json_parser, line) == [
            ("timestamp", "2024-05-01T00:00:03.123Z"), ("level", "info"),
            ("message", "GET /api/v1/orders/123 completed with status 200"),
            ("logger", "app.api.orders"), ("request_id", "5f1c2b3a4d5e6f70"), ("user_id", 4242),
            ("duration_ms", 12.34), *META,
        ]

    def test_pino_line(self, json_parser: Any) -> None:
        """pino: numeric level, epoch-millisecond `time`, `msg`; nested objects stay nested."""
        line = (b'{"level":30,"time":1714521600123,"pid":4021,"hostname":"api-7",'
                b'"msg":"request completed","req":{"id":1,"method":"GET"},"responseTime":4}')
        assert one(json_parser, line) == [
            ("timestamp", "2024-05-01T00:00:00.123Z"), ("level", "info"),
            ("message", "request completed"), ("pid", 4021), ("hostname", "api-7"),
            ("req", {"id": 1, "method": "GET"}), ("responseTime", 4), *META,
        ]

    def test_bunyan_line(self, json_parser: Any) -> None:
        """bunyan: level 50 is error, ISO `time`."""
        line = (b'{"name":"myapp","hostname":"banana.local","pid":40161,"level":50,"msg":"oops",'
                b'"time":"2013-01-04T18:46:23.851Z","v":0}')
        assert one(json_parser, line) == [
            ("timestamp", "2013-01-04T18:46:23.851Z"), ("level", "error"), ("message", "oops"),
            ("name", "myapp"), ("hostname", "banana.local"), ("pid", 40161), ("v", 0), *META,
        ]

    def test_zap_line(self, json_parser: Any) -> None:
        """zap: `warn`, epoch-second float `ts` kept to the microsecond."""
        line = (b'{"level":"warn","ts":1714521600.123456,"caller":"server/main.go:42",'
                b'"msg":"slow request","latency":0.532}')
        assert one(json_parser, line) == [
            ("timestamp", "2024-05-01T00:00:00.123456Z"), ("level", "warning"),
            ("message", "slow request"), ("caller", "server/main.go:42"), ("latency", 0.532), *META,
        ]

    def test_severity_and_at_timestamp(self, json_parser: Any) -> None:
        """`severity` and `@timestamp` (Elastic style), offset converted to UTC."""
        line = b'{"@timestamp":"2024-05-01T12:00:00+02:00","severity":"ERROR","message":"db down"}'
        assert one(json_parser, line) == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("level", "error"), ("message", "db down"), *META,
        ]

    @pytest.mark.parametrize("key", ["lvl", "loglevel"])
    def test_other_level_keys(self, json_parser: Any, key: str) -> None:
        """`lvl` and `loglevel` are level keys too."""
        line = b'{"%s":"crit","message":"m"}' % key.encode()
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("level", "critical"), ("message", "m"), *META,
        ]

    def test_first_level_key_wins(self, json_parser: Any) -> None:
        """Only the first level key present is consumed; the others stay fields."""
        line = b'{"severity":"high","level":"info","message":"m"}'
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("level", "info"), ("message", "m"), ("severity", "high"), *META,
        ]

    def test_unknown_level_kept_as_written(self, json_parser: Any) -> None:
        """A level naming no known level is kept as written."""
        assert one(json_parser, b'{"level":"Verbose","message":"m"}') == [
            ("timestamp", READ_TS), ("level", "Verbose"), ("message", "m"), *META,
        ]

    def test_null_level_is_no_level(self, json_parser: Any) -> None:
        """`"level": null` is consumed and the entry has no level."""
        assert one(json_parser, b'{"level":null,"message":"m"}') == [
            ("timestamp", READ_TS), ("message", "m"), *META,
        ]

    def test_unparsable_timestamp_moves_to_timestamp_raw(self, json_parser: Any) -> None:
        """A `timestamp` that does not parse goes to `timestamp_raw`; the next key is used."""
        line = b'{"timestamp":"yesterday","a":1,"time":"2024-05-01T00:00:00Z","message":"m"}'
        assert one(json_parser, line) == [
            ("timestamp", "2024-05-01T00:00:00Z"), ("message", "m"), ("timestamp_raw", "yesterday"),
            ("a", 1), *META,
        ]

    def test_unparsable_timestamp_and_no_other_time(self, json_parser: Any) -> None:
        """With no other time, the read time is used and the value still moves aside."""
        assert one(json_parser, b'{"timestamp":12,"message":"m"}') == [
            ("timestamp", READ_TS), ("message", "m"), ("timestamp_raw", 12), *META,
        ]

    def test_unparsable_time_stays_a_field(self, json_parser: Any) -> None:
        """A `time` that is no time (a duration) is not consumed."""
        assert one(json_parser, b'{"message":"done","time":0.53}') == [
            ("timestamp", READ_TS), ("message", "done"), ("time", 0.53), *META,
        ]

    def test_no_message_is_the_whole_line(self, json_parser: Any) -> None:
        """Without `message` or `msg`, the message is the whole line."""
        line = b'{"event":"login","user":"bob"}'
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("message", line.decode()), ("event", "login"), ("user", "bob"),
            *META,
        ]

    def test_null_message_falls_back_to_msg(self, json_parser: Any) -> None:
        """A null `message` is consumed and `msg` is used."""
        assert one(json_parser, b'{"message":null,"msg":"fallback","x":1}') == [
            ("timestamp", READ_TS), ("message", "fallback"), ("x", 1), *META,
        ]

    def test_host_source_file_fields(self, json_parser: Any) -> None:
        """`host`, `source`, `file` become `hostname`, `source_field`, `file_field` in place."""
        line = b'{"message":"m","host":"db-1","port":5432,"source":"x","file":"y"}'
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("message", "m"), ("hostname", "db-1"), ("port", 5432),
            ("source_field", "x"), ("file_field", "y"), *META,
        ]

    def test_moved_name_already_taken(self, json_parser: Any) -> None:
        """When the line also has the new name, both values are kept: `_field` is appended."""
        line = (b'{"msg":"m","host":"a","hostname":"b","source":{"k":1},"source_field":"c",'
                b'"source_field_field":"d","file":null}')
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("message", "m"), ("host_field", "a"), ("hostname", "b"),
            ("source_field_field_field", {"k": 1}), ("source_field", "c"),
            ("source_field_field", "d"), ("file_field", None), *META,
        ]

    def test_invalid_utf8_inside_a_string(self, json_parser: Any) -> None:
        """Invalid UTF-8 is replaced by U+FFFD and the line still parses."""
        assert one(json_parser, b'{"message":"caf\xe9 cr\xe8me"}') == [
            ("timestamp", READ_TS), ("message", "caf\ufffd cr\ufffdme"), *META,
        ]

    def test_byte_order_mark(self, json_parser: Any) -> None:
        """A UTF-8 byte-order mark before the object (first line of some files) is dropped."""
        assert one(json_parser, b'\xef\xbb\xbf{"msg":"first"}') == [
            ("timestamp", READ_TS), ("message", "first"), *META,
        ]

    @pytest.mark.parametrize("line", [b"[1,2,3]", b'"just a string"', b"42", b"null"])
    def test_not_an_object(self, json_parser: Any, line: bytes) -> None:
        """JSON that is not an object is a bad line, kept whole."""
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("message", line.decode()), *META,
            ("parse_error", "not a JSON object"),
        ]

    @pytest.mark.parametrize("line", [b"not json", b'{"a":1', b"\xff\xfe garbage"])
    def test_invalid_json(self, json_parser: Any, line: bytes) -> None:
        """Text that is not JSON is a bad line carrying orjson's reason."""
        text = line.decode("utf-8", "replace")
        with pytest.raises(orjson.JSONDecodeError) as info:
            orjson.loads(text)
        assert one(json_parser, line) == [
            ("timestamp", READ_TS), ("message", text), *META,
            ("parse_error", f"invalid JSON: {info.value}"),
        ]

    def test_counts_bad_lines(self, json_parser: Any) -> None:
        """The parse-error count is the number of bad entries; every line gives an entry."""
        entries, n_bad = run(json_parser, b'{"message":"a"}', b"oops", b"[]", b'{"message":"b"}')
        assert [dict(e)["message"] for e in entries] == ["a", "oops", "[]", "b"]
        assert n_bad == 2


class TestLogfmt:
    def test_logrus_line(self, logfmt_parser: Any) -> None:
        """logrus: quoted time with an offset, level, msg; values stay strings."""
        line = b'time="2024-05-01T10:00:00+02:00" level=warning msg="disk almost full" path=/var free=4.5'
        assert one(logfmt_parser, line) == [
            ("timestamp", "2024-05-01T08:00:00Z"), ("level", "warning"),
            ("message", "disk almost full"), ("path", "/var"), ("free", "4.5"), *META,
        ]

    def test_go_kit_line(self, logfmt_parser: Any) -> None:
        """go-kit: ts, caller, a quoted error with colons and an address."""
        line = (b'ts=2024-05-01T00:00:00.123Z caller=main.go:42 level=error msg="connection refused"'
                b' err="dial tcp 10.0.0.5:5432: connect: connection refused"')
        assert one(logfmt_parser, line) == [
            ("timestamp", "2024-05-01T00:00:00.123Z"), ("level", "error"),
            ("message", "connection refused"), ("caller", "main.go:42"),
            ("err", "dial tcp 10.0.0.5:5432: connect: connection refused"), *META,
        ]

    def test_heroku_router_line(self, logfmt_parser: Any) -> None:
        """No time, no level, no message key: read time, no level, the whole line."""
        line = (b'at=info method=GET path="/" host=myapp.herokuapp.com request_id=8601b555 '
                b'fwd="204.204.204.204" dyno=web.1 connect=1ms service=18ms status=200 bytes=13')
        assert one(logfmt_parser, line) == [
            ("timestamp", READ_TS), ("message", line.decode()), ("at", "info"), ("method", "GET"),
            ("path", "/"), ("hostname", "myapp.herokuapp.com"), ("request_id", "8601b555"),
            ("fwd", "204.204.204.204"), ("dyno", "web.1"), ("connect", "1ms"), ("service", "18ms"),
            ("status", "200"), ("bytes", "13"), *META,
        ]

    def test_source_file_host_keys(self, logfmt_parser: Any) -> None:
        """A line's own `source`, `file` and `host` keep their values under the moved names."""
        line = b'msg=m source=billing file=main.go:42 host=db-1'
        assert one(logfmt_parser, line) == [
            ("timestamp", READ_TS), ("message", "m"), ("source_field", "billing"),
            ("file_field", "main.go:42"), ("hostname", "db-1"), *META,
        ]

    def test_quoted_key(self, logfmt_parser: Any) -> None:
        """A quoted key is the key, `=` and blanks included."""
        assert one(logfmt_parser, b'"a=b"=c "a b"=1 msg=m') == [
            ("timestamp", READ_TS), ("message", "m"), ("a=b", "c"), ("a b", "1"), *META,
        ]

    def test_numeric_level(self, logfmt_parser: Any) -> None:
        """A numeric level string is normalised."""
        assert one(logfmt_parser, b"level=50 msg=x") == [
            ("timestamp", READ_TS), ("level", "error"), ("message", "x"), *META,
        ]

    def test_invalid_utf8(self, logfmt_parser: Any) -> None:
        """Invalid UTF-8 becomes U+FFFD."""
        assert one(logfmt_parser, b"msg=caf\xe9") == [
            ("timestamp", READ_TS), ("message", "caf\ufffd"), *META,
        ]

    @pytest.mark.parametrize("line", [b"just some words", b"debug verbose", b"=orphan"])
    def test_no_pairs_is_a_bad_line(self, logfmt_parser: Any, line: bytes) -> None:
        """A line with no key=value pair is a bad line."""
        assert one(logfmt_parser, line) == [
            ("timestamp", READ_TS), ("message", line.decode()), *META,
            ("parse_error", "no key=value pairs"),
        ]


class TestLogfmtGrammar:
    def test_escapes(self) -> None:
        """Quoted values unescape \\" \\\\ \\n \\t \\uXXXX; unknown escapes are kept."""
        line = r'msg="say \"hi\" \\ back\nslash" tab="a\tb" uni="caf\u00e9" odd="\q"'
        assert parse_logfmt(line) == {
            "msg": 'say "hi" \\ back\nslash', "tab": "a\tb", "uni": "café", "odd": "\\q",
        }

    def test_bare_keys_empty_values_duplicates(self) -> None:
        """Bare key → True, `k=` → "", a duplicate: last value at the first position."""
        fields = parse_logfmt("a=1 debug b= a=2 =orphan c=x=y")
        assert list(fields.items()) == [("a", "2"), ("debug", True), ("b", ""), ("c", "x=y")]

    def test_whitespace_separators(self) -> None:
        """Tabs and runs of blanks separate pairs; blanks inside quotes do not."""
        assert parse_logfmt('a=1\tb=2   c="x  y"') == {"a": "1", "b": "2", "c": "x  y"}

    def test_unterminated_quote_runs_to_end(self) -> None:
        """An unterminated quote takes the rest of the line."""
        assert parse_logfmt('level=info msg="never closed here') == {
            "level": "info", "msg": "never closed here",
        }

    def test_unterminated_quote_ending_in_backslash(self) -> None:
        """A lone backslash at the end of an unterminated quote is kept."""
        assert parse_logfmt('msg="abc\\') == {"msg": "abc\\"}

    def test_text_after_closing_quote(self) -> None:
        """Text glued after a closing quote keeps the value as written."""
        assert parse_logfmt('k="a"b x=1') == {"k": '"a"b', "x": "1"}

    def test_empty_quoted_value(self) -> None:
        """`k=""` is the empty string."""
        assert parse_logfmt('k="" j=1') == {"k": "", "j": "1"}

    def test_quoted_key(self) -> None:
        """A quoted run right before `=` is the key; the line is not cut inside it."""
        assert list(parse_logfmt('"a=b"=c x=1').items()) == [("a=b", "c"), ("x", "1")]
        assert list(parse_logfmt('"a b"=1').items()) == [("a b", "1")]

    def test_quoted_key_with_escapes_and_quoted_value(self) -> None:
        """A quoted key is unescaped like a value; its value may be quoted too."""
        assert list(parse_logfmt(r'"say \"hi\""="x y" k=v').items()) == [('say "hi"', "x y"), ("k", "v")]

    @pytest.mark.parametrize(("line", "items"), [
        ('"unterminated=1', [('"unterminated', "1")]),
        ('"unterminated=1 x=2', [('"unterminated', "1 x=2")]),
        ('"k" a=1', [('"k"', True), ("a", "1")]),
        ('""=x a=1', [('""', "x"), ("a", "1")]),
        ('"a"b=c', [('"a"b', "c")]),
    ])
    def test_not_a_quoted_key(self, line: str, items: list[tuple[str, Any]]) -> None:
        """Unterminated, bare, empty, or not followed by `=`: read as before, quote included."""
        assert list(parse_logfmt(line).items()) == items

    def test_ordinary_lines_unchanged(self) -> None:
        """Unquoted keys, quoted values, bare keys: as before."""
        line = 'ts=2024-05-01T00:00:00Z level=info msg="a=b c" path=/x debug k= q="\\"x\\""'
        assert list(parse_logfmt(line).items()) == [
            ("ts", "2024-05-01T00:00:00Z"), ("level", "info"), ("msg", "a=b c"), ("path", "/x"),
            ("debug", True), ("k", ""), ("q", '"x"'),
        ]

    def test_no_pairs_raises(self) -> None:
        """Bare words only: ValueError."""
        with pytest.raises(ValueError, match="no key=value pairs"):
            parse_logfmt("hello world")


class TestRegex:
    PATTERN = (r"^(?P<timestamp>\S+ \S+) \[(?P<level>\w+)\] (?P<logger>[\w.]+)"
               r"(?: pid=(?P<pid>\d+))?: (?P<message>.*)$")

    @pytest.fixture(name="regex_parser")
    def fixture_regex_parser(self) -> Any:
        return build_regex_parser("app", "web-1", UTC, self.PATTERN)

    def test_named_groups(self, regex_parser: Any) -> None:
        """timestamp, level and message fill the entry; other groups follow in pattern order."""
        line = b"2024-05-01 10:00:00,123 [WARN] app.db pid=42: pool exhausted"
        assert one(regex_parser, line) == [
            ("timestamp", "2024-05-01T10:00:00.123Z"), ("level", "warning"),
            ("message", "pool exhausted"), ("logger", "app.db"), ("pid", "42"), *META,
        ]

    def test_unmatched_optional_group_omitted(self, regex_parser: Any) -> None:
        """A group that took no part in the match is left out."""
        assert one(regex_parser, b"2024-05-01 10:00:00 [info] app: ready") == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("level", "info"), ("message", "ready"),
            ("logger", "app"), *META,
        ]

    def test_unparsable_time(self, regex_parser: Any) -> None:
        """A timestamp group that is no time goes to timestamp_raw."""
        assert one(regex_parser, b"not atime [ERR] app: x") == [
            ("timestamp", READ_TS), ("level", "error"), ("message", "x"),
            ("timestamp_raw", "not atime"), ("logger", "app"), *META,
        ]

    def test_no_match_is_a_bad_line(self, regex_parser: Any) -> None:
        """A line the pattern does not match is a bad line."""
        assert one(regex_parser, b"something else") == [
            ("timestamp", READ_TS), ("message", "something else"), *META,
            ("parse_error", "pattern did not match"),
        ]

    def test_search_without_message_group(self) -> None:
        """The pattern is searched, not anchored; no message group: the whole line."""
        parser = build_regex_parser("app", "web-1", UTC, r"status=(?P<status>\d+) host=(?P<host>\S+)")
        line = b"GET / status=503 host=lb-2 took 3ms"
        assert one(parser, line) == [
            ("timestamp", READ_TS), ("message", line.decode()), ("status", "503"),
            ("hostname", "lb-2"), *META,
        ]

    def test_source_and_file_groups(self) -> None:
        """Groups named `source` and `file` keep their values under the moved names."""
        parser = build_regex_parser(
            "app", "web-1", UTC, r"^(?P<file>\S+):(?P<line>\d+) \[(?P<source>\w+)\] (?P<message>.*)$")
        assert one(parser, b"main.go:42 [billing] charge failed") == [
            ("timestamp", READ_TS), ("message", "charge failed"), ("file_field", "main.go"),
            ("line", "42"), ("source_field", "billing"), *META,
        ]


class TestAccess:
    @pytest.fixture(name="combined")
    def fixture_combined(self) -> Any:
        return build_access_parser("app", "web-1", combined=True)

    @pytest.fixture(name="common")
    def fixture_common(self) -> Any:
        return build_access_parser("app", "web-1", combined=False)

    def test_nginx_combined(self, combined: Any) -> None:
        """A real nginx combined line."""
        line = (b'93.184.216.34 - - [01/May/2024:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 612 '
                b'"https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101'
                b' Firefox/125.0"')
        assert one(combined, line) == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("message", line.decode()),
            ("remote_addr", "93.184.216.34"), ("remote_user", "-"), ("method", "GET"),
            ("path", "/index.html"), ("protocol", "HTTP/1.1"), ("status", 200), ("bytes", 612),
            ("referer", "https://www.example.com/"),
            ("agent", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
            *META,
        ]

    def test_apache_combined_with_offset(self, combined: Any) -> None:
        """Apache's documented example; -0700 is converted to UTC."""
        line = (b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
                b' "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"')
        assert one(combined, line) == [
            ("timestamp", "2000-10-10T20:55:36Z"), ("message", line.decode()),
            ("remote_addr", "127.0.0.1"), ("remote_user", "frank"), ("method", "GET"),
            ("path", "/apache_pb.gif"), ("protocol", "HTTP/1.0"), ("status", 200), ("bytes", 2326),
            ("referer", "http://www.example.com/start.html"), ("agent", "Mozilla/4.08 [en] (Win98; I ;Nav)"),
            *META,
        ]

    def test_apache_common(self, common: Any) -> None:
        """Apache's documented common line."""
        line = b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
        assert one(common, line) == [
            ("timestamp", "2000-10-10T20:55:36Z"), ("message", line.decode()),
            ("remote_addr", "127.0.0.1"), ("remote_user", "frank"), ("method", "GET"),
            ("path", "/apache_pb.gif"), ("protocol", "HTTP/1.0"), ("status", 200), ("bytes", 2326),
            *META,
        ]

    def test_dash_bytes_and_positive_offset(self, combined: Any) -> None:
        """`-` bytes is 0; +0200 is two hours ahead of UTC."""
        line = (b'10.0.0.1 - - [01/May/2024:10:00:00 +0200] "HEAD /health HTTP/1.1" 304 - "-" '
                b'"kube-probe/1.29"')
        assert one(combined, line) == [
            ("timestamp", "2024-05-01T08:00:00Z"), ("message", line.decode()),
            ("remote_addr", "10.0.0.1"), ("remote_user", "-"), ("method", "HEAD"), ("path", "/health"),
            ("protocol", "HTTP/1.1"), ("status", 304), ("bytes", 0), ("referer", "-"),
            ("agent", "kube-probe/1.29"), *META,
        ]

    def test_ipv6_client(self, combined: Any) -> None:
        """An IPv6 client address."""
        line = (b'2001:db8::1 - - [01/May/2024:10:00:00 +0000] "POST /api/v1/orders HTTP/2.0" 201 48 '
                b'"-" "curl/7.88.1"')
        assert dict(one(combined, line))["remote_addr"] == "2001:db8::1"

    def test_tls_probe_request(self, combined: Any) -> None:
        """A request that is not METHOD PATH PROTOCOL gives a `request` field."""
        line = (b'192.0.2.7 - - [01/May/2024:10:00:00 +0000] "\\x16\\x03\\x01\\x00\\xa5" 400 157 "-" "-"')
        assert one(combined, line) == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("message", line.decode()),
            ("remote_addr", "192.0.2.7"), ("remote_user", "-"), ("request", "\\x16\\x03\\x01\\x00\\xa5"),
            ("status", 400), ("bytes", 157), ("referer", "-"), ("agent", "-"), *META,
        ]

    def test_escaped_quotes_in_agent(self, combined: Any) -> None:
        """Apache's \\" escapes are read (slow path) and kept as written."""
        line = (b'192.0.2.8 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" '
                b'"Mozilla \\"quoted\\" agent"')
        assert one(combined, line) == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("message", line.decode()),
            ("remote_addr", "192.0.2.8"), ("remote_user", "-"), ("method", "GET"), ("path", "/"),
            ("protocol", "HTTP/1.1"), ("status", 200), ("bytes", 5), ("referer", "-"),
            ("agent", 'Mozilla \\"quoted\\" agent'), *META,
        ]

    def test_blank_in_path(self, combined: Any) -> None:
        """An unescaped blank in the path stays in the path."""
        line = b'192.0.2.9 - - [01/May/2024:10:00:00 +0000] "GET /a b HTTP/1.1" 404 0 "-" "x"'
        assert one(combined, line) == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("message", line.decode()),
            ("remote_addr", "192.0.2.9"), ("remote_user", "-"), ("method", "GET"), ("path", "/a b"),
            ("protocol", "HTTP/1.1"), ("status", 404), ("bytes", 0), ("referer", "-"), ("agent", "x"),
            *META,
        ]

    def test_trailing_fields_allowed(self, combined: Any) -> None:
        """Fields appended after the agent only stay in the message."""
        line = (b'192.0.2.9 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.0" '
                b'"203.0.113.9"')
        assert one(combined, line) == [
            ("timestamp", "2024-05-01T10:00:00Z"), ("message", line.decode()),
            ("remote_addr", "192.0.2.9"), ("remote_user", "-"), ("method", "GET"), ("path", "/"),
            ("protocol", "HTTP/1.1"), ("status", 200), ("bytes", 1), ("referer", "-"),
            ("agent", "curl/8.0"), *META,
        ]

    def test_common_reads_combined_lines(self, common: Any) -> None:
        """The common parser accepts a combined line, without referer and agent."""
        line = b'10.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"'
        assert [k for k, _ in one(common, line)] == [
            "timestamp", "message", "remote_addr", "remote_user", "method", "path", "protocol",
            "status", "bytes", "source", "file", "host",
        ]

    def test_combined_refuses_common_lines(self, combined: Any) -> None:
        """A common line lacks referer and agent: a bad line for combined."""
        line = b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326'
        assert one(combined, line) == [
            ("timestamp", READ_TS), ("message", line.decode()), *META,
            ("parse_error", "not a combined access log line"),
        ]

    def test_garbage(self, common: Any) -> None:
        """Anything else is a bad line."""
        entries, n_bad = run(common, b"GET / 200", b'a "b" c')
        assert n_bad == 2
        assert entries[0] == [
            ("timestamp", READ_TS), ("message", "GET / 200"), *META,
            ("parse_error", "not a common access log line"),
        ]

    def test_unreadable_time(self, combined: Any) -> None:
        """A request time that does not read goes to timestamp_raw; the read time is used."""
        line = b'10.0.0.1 - - [99/Foo/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"'
        assert one(combined, line) == [
            ("timestamp", READ_TS), ("message", line.decode()),
            ("timestamp_raw", "99/Foo/2024:10:00:00 +0000"), ("remote_addr", "10.0.0.1"),
            ("remote_user", "-"), ("method", "GET"), ("path", "/"), ("protocol", "HTTP/1.1"),
            ("status", 200), ("bytes", 5), ("referer", "-"), ("agent", "x"), *META,
        ]

    def test_invalid_utf8_in_path(self, combined: Any) -> None:
        """Invalid UTF-8 in the request becomes U+FFFD."""
        line = b'10.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET /caf\xe9 HTTP/1.1" 200 5 "-" "x"'
        assert dict(one(combined, line))["path"] == "/caf\ufffd"

    def test_same_second_is_reused_correctly(self, combined: Any) -> None:
        """Consecutive lines with the same or different times each get their own."""
        template = b'1.1.1.1 - - [%s] "GET / HTTP/1.1" 200 5 "-" "x"'
        entries, _ = run(combined, template % b"01/May/2024:10:00:00 +0000",
                         template % b"01/May/2024:10:00:00 +0000", template % b"01/May/2024:10:00:01 +0000")
        assert [dict(e)["timestamp"] for e in entries] == [
            "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z",
        ]


class TestClfTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36Z"),
            ("01/Jan/2024:00:30:00 +0100", "2023-12-31T23:30:00Z"),
            ("29/Feb/2024:23:59:59 +0000", "2024-02-29T23:59:59Z"),
            ("01/May/2024:10:00:00 +0530", "2024-05-01T04:30:00Z"),
        ],
    )
    def test_valid(self, text: str, expected: str) -> None:
        """Request times convert to UTC, across day and year boundaries."""
        assert clf_time(text) == expected

    @pytest.mark.parametrize(
        "text", ["30/Feb/2024:00:00:00 +0000", "01/Foo/2024:00:00:00 +0000", "01/May/2024:10:00:00",
                 "01/May/2024:25:00:00 +0000", "01/May/2024:10:00:00 *0000", "1/May/2024:10:00:00 +0000"]
    )
    def test_invalid(self, text: str) -> None:
        """Impossible dates, unknown months, missing or bad offsets, odd shapes give None."""
        assert clf_time(text) is None


class TestPlain:
    def test_line_is_the_message(self) -> None:
        """The decoded line is the message, read time, no parse errors."""
        parser = build_plain_parser("app", "web-1")
        entries, n_bad = run(parser, b"hello \xff world", b"second")
        assert entries == [
            [("timestamp", READ_TS), ("message", "hello \ufffd world"), *META],
            [("timestamp", READ_TS), ("message", "second"), *META],
        ]
        assert n_bad == 0


class TestLogfmtTokenizers:
    @settings(max_examples=300, deadline=None, database=None)
    @given(st.text(alphabet='ab= "\t\\', max_size=30))
    def test_split_and_regex_agree(self, text: str) -> None:
        """The split-on-quotes tokenizer cuts the regex one's tokens and flags a leading quote."""
        assume('\\"' not in text)
        tokens, keyed = _split_quoted(text)
        assert tokens == _TOKENS(text)
        assert keyed == any(token.startswith('"') for token in tokens)
