"""The syslog source's keys and the shared `tls` table: what is accepted, and the exact
message for what is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from logproc.config import LoadedConfig

Loads = Callable[[str], LoadedConfig]
Issues = Callable[[str], list[str]]


def syslog(listen: str, extra: str = "") -> str:
    return (f'[sources.net]\ntype = "syslog"\nlisten = {listen}\n{extra}\n'
            '[sinks.out]\ntype = "stdout"\n')


@pytest.fixture(name="pem")
def fixture_pem(tmp_path: Path) -> Path:
    (tmp_path / "cert.pem").write_text("not parsed at load time\n")
    (tmp_path / "key.pem").write_text("not parsed at load time\n")
    return tmp_path


def test_defaults_and_every_scheme(loads: Loads) -> None:
    cfg = loads(syslog('["udp://127.0.0.1:514", "tcp://[::1]:601", "unix:///run/logproc/dev-log"]'))
    src = cfg.config.sources["net"]
    assert (src.type, src.framing, src.max_message_bytes, src.tls) == ("syslog", "auto", 65536, None)
    assert [str(a) for a in src.addresses] == ["udp://127.0.0.1:514", "tcp://[::1]:601",
                                               "unix:///run/logproc/dev-log"]


@pytest.mark.parametrize(("url", "message"), [
    ("tcp://127.0.0.1", 'expected "tcp://HOST:PORT" such as "tcp://127.0.0.1:514", got "tcp://127.0.0.1"'),
    ("http://x:1", 'expected "udp://HOST:PORT", "tcp://HOST:PORT" or "unix:///PATH", got "http://x:1"'),
    ("127.0.0.1:514", 'expected "udp://HOST:PORT", "tcp://HOST:PORT" or "unix:///PATH", got "127.0.0.1:514"'),
    ("udp://127.0.0.1:0", 'port "0" in "udp://127.0.0.1:0" is not a number from 1 to 65535'),
    ("udp://h:70000", 'port "70000" in "udp://h:70000" is not a number from 1 to 65535'),
    ("tcp://h:syslog", 'port "syslog" in "tcp://h:syslog" is not a number from 1 to 65535'),
    ("tcp://::1:514", 'an IPv6 address needs brackets, as in "tcp://[::1]:514", got "tcp://::1:514"'),
    ("tcp://[zz]:514", '"zz" in "tcp://[zz]:514" is no IPv6 address'),
    ("unix://relative", 'expected an absolute path after "unix://", got "unix://relative"'),
])
def test_bad_listen_addresses(issues: Issues, url: str, message: str) -> None:
    assert issues(syslog(f'["{url}"]')) == [f"logproc.toml:3: sources.net.listen: {message}"]


def test_listen_is_required_and_not_empty_nor_repeated(issues: Issues) -> None:
    assert issues(syslog("[]")) == ["logproc.toml:3: sources.net.listen: must not be empty"]
    assert issues(syslog('["tcp://127.0.0.1:601", "tcp://127.0.0.1:601"]')) == [
        'logproc.toml:3: sources.net.listen: "tcp://127.0.0.1:601" is listed twice']


def test_framing_and_size(issues: Issues) -> None:
    assert issues(syslog('["tcp://127.0.0.1:601"]', 'framing = "octets"')) == [
        'logproc.toml:4: sources.net.framing: invalid value "octets"; expected one of: auto, octet, '
        'newline; did you mean "octet"?']


def test_tls_on_a_listener(loads: Loads, issues: Issues, pem: Path) -> None:
    pair = f'cert_file = "{pem}/cert.pem", key_file = "{pem}/key.pem"'
    src = loads(syslog('["tcp://127.0.0.1:6514"]', f"tls = {{ {pair}, ca_file = \"{pem}/cert.pem\" }}"))
    tls = src.config.sources["net"].tls
    assert tls is not None and tls.ca_file == f"{pem}/cert.pem" and tls.verify is True
    assert issues(syslog('["udp://127.0.0.1:514"]', f"tls = {{ {pair} }}")) == [
        'logproc.toml:4: sources.net.tls: only used on tcp:// listeners, and "listen" has none']
    assert issues(syslog('["tcp://127.0.0.1:6514"]', f'tls = {{ ca_file = "{pem}/cert.pem" }}')) == [
        "logproc.toml:4: sources.net.tls: a listener needs cert_file and key_file"]
    assert issues(syslog('["tcp://127.0.0.1:6514"]', f'tls = {{ cert_file = "{pem}/cert.pem" }}')) == [
        "logproc.toml:4: sources.net.tls: cert_file needs key_file: a certificate and its key come together"]
    assert issues(syslog('["tcp://127.0.0.1:6514"]', f'tls = {{ {pair}, ca_file = "{pem}/none.pem" }}')) == [
        f'logproc.toml:4: sources.net.tls.ca_file: no such file: "{pem}/none.pem"']
    assert issues(syslog('["tcp://127.0.0.1:6514"]', f"tls = {{ {pair}, verfy = false }}")) == [
        'logproc.toml:4: sources.net.tls.verfy: unknown key "verfy"; did you mean "verify"?']
