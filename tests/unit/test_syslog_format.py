"""The syslog sink's formatter (exact bytes, both protocols) and its transports on loopback."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from logproc.errors import RetriableSinkError
from logproc.sinks.base import Delivery, noop
from logproc.sinks.syslog.config import SyslogSinkConfig
from logproc.sinks.syslog.message import truncate_utf8
from logproc.sinks.syslog.rfc5424 import sd_escape
from logproc.sinks.syslog.sink import SyslogSink, build_syslog_formatter
from logproc.sinks.syslog.transport import split_octet_frames

TS = "2024-01-02T03:04:05.123456Z"
SD = '[logproc@32473 source="app" file="/var/log/app.log"]'


def cfg(**keys: Any) -> SyslogSinkConfig:
    return SyslogSinkConfig(**{"type": "syslog", "address": "tcp://127.0.0.1:601", **keys})


def entry(**fields: Any) -> dict[str, Any]:
    return {"message": "hello", "timestamp": TS, "source": "app", "file": "/var/log/app.log",
            "host": "web1", **fields}


def fmt(entries: list[dict[str, Any]], raws: list[bytes] | None = None, **keys: Any) -> bytes:
    return build_syslog_formatter(cfg(**keys))(entries, raws or [])


def octet(message: str | bytes) -> bytes:
    data = message.encode() if isinstance(message, str) else message
    return b"%d %b" % (len(data), data)


class TestRfc5424:
    def test_exact_message_octet_counted(self) -> None:
        msg = f"<14>1 {TS} web1 logproc - - {SD} hello"
        assert fmt([entry()]) == octet(msg)

    def test_length_counts_utf8_bytes_and_keeps_newlines(self) -> None:
        """Octet counting needs no escaping: the newline stays, the length is in bytes."""
        msg = f"<14>1 {TS} web1 logproc - - {SD} café\nnext"
        assert fmt([entry(message="café\nnext")]) == octet(msg)

    def test_nilvalues(self) -> None:
        """No timestamp, host, source, file: `-` for each; an empty MSG has no trailing space."""
        assert fmt([{"message": ""}]) == octet("<14>1 - - logproc - - -")

    def test_bad_timestamp_is_nil(self) -> None:
        """A timestamp a transform replaced with something else is NILVALUE, not a bad header."""
        assert fmt([entry(timestamp="yesterday")]) == octet(f"<14>1 - web1 logproc - - {SD} hello")
        assert fmt([entry(timestamp=1700000000)]) == octet(f"<14>1 - web1 logproc - - {SD} hello")

    def test_structured_data_escaping(self) -> None:
        """`"`, `\\` and `]` in a PARAM-VALUE are escaped; nothing else is."""
        assert sd_escape('a"b\\c]d[e=f') == 'a\\"b\\\\c\\]d[e=f'
        out = fmt([entry(source="s", file='/x/"q"\\]z.log')])
        assert out == octet(f'<14>1 {TS} web1 logproc - - [logproc@32473 source="s" '
                            f'file="/x/\\"q\\"\\\\\\]z.log"] hello')

    def test_header_fields_sanitised_and_limited(self) -> None:
        """Spaces and non-ASCII become `_`; HOSTNAME ≤255, PROCID ≤128, MSGID ≤32."""
        e = entry(hostname="h" * 300, procid="p" * 200, msgid="m y" + "i" * 40)
        out = fmt([e], app_name="my app é")
        want = f"<14>1 {TS} {'h' * 255} my_app__ {'p' * 128} {'m_y' + 'i' * 29} {SD} hello"
        assert out == octet(want)

    def test_hostname_prefers_the_lines_host(self) -> None:
        """A relayed line keeps its origin (`hostname`), else this machine (`host`)."""
        assert b" origin logproc " in fmt([entry(hostname="origin")])
        assert b" web1 logproc " in fmt([entry()])

    def test_app_name_at_limit(self) -> None:
        assert f" {'a' * 48} -".encode() in fmt([entry()], app_name="a" * 48)

    def test_batch_is_concatenated_frames(self) -> None:
        out = fmt([entry(message="one"), entry(message="two", level="error")])
        assert out == (octet(f"<14>1 {TS} web1 logproc - - {SD} one")
                       + octet(f"<11>1 {TS} web1 logproc - - {SD} two"))
        assert fmt([]) == b""


class TestRfc3164:
    def test_exact_message(self) -> None:
        """UTC time to the second, day padded with a space, `TAG: MSG`."""
        assert fmt([entry()], protocol="rfc3164") == octet("<14>Jan  2 03:04:05 web1 logproc: hello")

    def test_two_digit_day_and_facility(self) -> None:
        e = entry(timestamp="2023-12-31T23:59:59Z", level="warning")
        assert fmt([e], protocol="rfc3164", facility="local0") == octet("<132>Dec 31 23:59:59 web1 logproc: hello")

    def test_tag_is_cut_to_32_and_sanitised(self) -> None:
        out = fmt([entry()], protocol="rfc3164", app_name="a:b[c] " + "x" * 40)
        assert out == octet(f"<14>Jan  2 03:04:05 web1 {'a_b_c__' + 'x' * 25}: hello")

    def test_bad_timestamp_uses_now(self) -> None:
        out = fmt([entry(timestamp=None)], protocol="rfc3164")
        assert out.split(b" ", 1)[1].startswith(b"<14>") and out.endswith(b" web1 logproc: hello")


@pytest.mark.parametrize(("facility", "code"), [
    ("kern", 0), ("user", 1), ("mail", 2), ("daemon", 3), ("auth", 4), ("authpriv", 10),
    ("solaris-cron", 15), ("local0", 16), ("local7", 23), (0, 0), (17, 17), (23, 23),
])
def test_facility_names_and_numbers(facility: str | int, code: int) -> None:
    assert fmt([entry(level="critical")], facility=facility).split(b" ")[1].startswith(
        b"<%d>1" % (code * 8 + 2))


@pytest.mark.parametrize(("level", "sev"), [
    ("critical", 2), ("error", 3), ("warning", 4), ("notice", 5), ("info", 6), ("debug", 7),
    ("trace", 7), (None, 6), ("verbose", 6), ("ERROR", 6), (3, 6), (["x"], 6),
])
def test_severity_mapping(level: Any, sev: int) -> None:
    e = entry() if level is None else entry(level=level)
    assert fmt([e], protocol="rfc3164", facility="local1") == octet(
        f"<{17 * 8 + sev}>Jan  2 03:04:05 web1 logproc: hello")


class TestUdpLimits:
    def test_5424_message_cut_to_8192_bytes_at_a_character_boundary(self) -> None:
        out = fmt([entry(message="é" * 10000)], address="udp://127.0.0.1:514")
        (msg,) = split_octet_frames(out)
        head = f"<14>1 {TS} web1 logproc - - {SD} ".encode()
        room = 8192 - len(head)
        assert bytes(msg) == head + ("é" * (room // 2)).encode()
        assert len(msg) == 8192 - room % 2

    def test_3164_message_cut_to_2048_bytes(self) -> None:
        out = fmt([entry(message="x" * 5000)], address="udp://127.0.0.1:514", protocol="rfc3164")
        assert out == octet("<14>Jan  2 03:04:05 web1 logproc: " + "x" * (2048 - 34))
        assert len(bytes(split_octet_frames(out)[0])) == 2048

    def test_short_messages_and_tcp_are_not_cut(self) -> None:
        assert fmt([entry(message="x" * 100)], address="udp://127.0.0.1:514") == fmt([entry(message="x" * 100)])
        assert fmt([entry(message="x" * 20000)]).endswith(b"x" * 20000)

    def test_huge_structured_data_is_dropped_before_msg(self) -> None:
        out = fmt([entry(file="/" + "d" * 9000, message="keep")], address="udp://127.0.0.1:514")
        assert out == octet(f"<14>1 {TS} web1 logproc - - - keep")

    def test_truncate_utf8(self) -> None:
        data = "aé€😀".encode()  # 1 + 2 + 3 + 4 bytes
        assert [truncate_utf8(data, n) for n in range(11)] == [
            b"", b"a", b"a", b"a\xc3\xa9", b"a\xc3\xa9", b"a\xc3\xa9",
            "aé€".encode(), "aé€".encode(), "aé€".encode(), "aé€".encode(), data]
        assert truncate_utf8(data, -5) == b""


class TestFraming:
    def test_newline_framing_escapes_newlines(self) -> None:
        out = fmt([entry(message="a\nb"), entry(message="c")], framing="newline")
        assert out == (f"<14>1 {TS} web1 logproc - - {SD} a\\nb\n"
                       f"<14>1 {TS} web1 logproc - - {SD} c\n").encode()

    def test_newline_framing_only_applies_to_tcp(self) -> None:
        """UDP sends one datagram per message: the payload stays octet-counted."""
        out = fmt([entry(message="a\nb")], address="udp://127.0.0.1:514", framing="newline")
        assert out == octet(f"<14>1 {TS} web1 logproc - - {SD} a\nb")

    def test_split_octet_frames(self) -> None:
        payload = octet("one") + octet("") + octet("t\nw o")
        assert [bytes(m) for m in split_octet_frames(payload)] == [b"one", b"", b"t\nw o"]


class TestMsgFormats:
    def test_json(self) -> None:
        e = {"message": "m", "timestamp": TS, "host": "h"}
        out = fmt([e], format="json", protocol="rfc3164")
        assert out == octet('<14>Jan  2 03:04:05 h logproc: {"message":"m","timestamp":"' + TS + '","host":"h"}')

    def test_text_template(self) -> None:
        out = fmt([entry(level="error")], format="text", template="{level}|{message}", protocol="rfc3164")
        assert out == octet("<11>Jan  2 03:04:05 web1 logproc: error|hello")

    def test_raw_when_aligned_else_message(self) -> None:
        assert fmt([entry()], [b"the raw line"], format="raw", protocol="rfc3164").endswith(b": the raw line")
        two = fmt([entry(message="m1")], [b"r1", b"r2"], format="raw", protocol="rfc3164")
        assert two.endswith(b": m1")


# -- transports on loopback ----------------------------------------------------------------
def deliveries(*payloads: bytes) -> list[Delivery]:
    return [Delivery("app", p, 1, noop) for p in payloads]


@pytest.mark.timeout(10)
def test_udp_sends_one_datagram_per_message() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        port = rx.getsockname()[1]
        sink = SyslogSink("s", cfg(address=f"udp://127.0.0.1:{port}"))
        sink.write(deliveries(octet("a\nb") + octet("c"), octet("d")))
        assert [rx.recv(9000) for _ in range(3)] == [b"a\nb", b"c", b"d"]
        sink.close()


@pytest.mark.timeout(10)
def test_tcp_reconnects_after_the_peer_closed() -> None:
    """A connection the receiver closed while idle is replaced before the next write."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(5)
        port = srv.getsockname()[1]
        sink = SyslogSink("s", cfg(address=f"tcp://127.0.0.1:{port}"))
        sink.write(deliveries(octet("one")))
        conn, _ = srv.accept()
        assert conn.recv(100) == octet("one")
        conn.close()  # the receiver goes away
        sink.write(deliveries(octet("two")))
        conn2, _ = srv.accept()
        conn2.settimeout(5)
        assert conn2.recv(100) == octet("two")
        conn2.close()
        sink.close()


@pytest.mark.timeout(10)
def test_tcp_refused_is_retriable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
    sink = SyslogSink("s", cfg(address=f"tcp://127.0.0.1:{port}"))
    with pytest.raises(RetriableSinkError, match="refused"):
        sink.write(deliveries(octet("x")))
    sink.close()
