"""The `tls` table of sinks and sources at load time: relative `*_file` paths at any depth
resolved against the config's folder, the http sink's older keys merged (and refused when
they disagree), the syslog sink's `tls://`, and what `logproc check` says about them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from logproc.config import LoadedConfig
from logproc.config.report import describe
from logproc.config.tls import unverified

Loads = Callable[[str], LoadedConfig]
Issues = Callable[[str], list[str]]


@pytest.fixture(name="pki")
def fixture_pki(tmp_path: Path) -> Path:
    (tmp_path / "pki").mkdir()
    for name in ("ca.pem", "other.pem", "client.pem", "client.key", "server.pem", "server.key"):
        (tmp_path / "pki" / name).write_text("-----BEGIN PRIVATE KEY-----\nnot parsed at load time\n")
    return tmp_path / "pki"


TLS = 'tls = { ca_file = "pki/ca.pem", cert_file = "pki/client.pem", key_file = "./pki/client.key" }'


def test_relative_file_keys_in_nested_tables_of_sinks_and_sources(loads: Loads, pki: Path) -> None:
    cfg = loads(f"""
[sources.net]
type = "syslog"
listen = ["tcp://127.0.0.1:6514"]
tls = {{ cert_file = "pki/server.pem", key_file = "pki/server.key", ca_file = "pki/../pki/ca.pem" }}
[sinks.web]
type = "http"
url = "https://h:9200/"
ca_file = "pki/ca.pem"
{TLS}
[sinks.rx]
type = "syslog"
address = "tls://h:6514"
{TLS}
""").config
    source_tls = cfg.sources["net"].tls
    assert (source_tls.cert_file, source_tls.key_file, source_tls.ca_file) == (
        f"{pki}/server.pem", f"{pki}/server.key", f"{pki}/ca.pem")
    for sink in ("web", "rx"):
        tls = cfg.sinks[sink].tls
        assert (tls.ca_file, tls.cert_file, tls.key_file) == (
            f"{pki}/ca.pem", f"{pki}/client.pem", f"{pki}/client.key")
    assert cfg.sinks["web"].ca_file == f"{pki}/ca.pem"  # the older top-level key too


def test_http_older_keys_merge_into_the_tls_table(loads: Loads, pki: Path) -> None:
    def client(keys: str) -> object:
        return loads(f'[sources.a]\npaths = ["/x.log"]\n[sinks.w]\ntype = "http"\n'
                     f'url = "https://h/"\n{keys}\n').config.sinks["w"].client_tls()

    older = client('tls_verify = false\nca_file = "pki/ca.pem"')
    assert (older.verify, older.ca_file, older.cert_file) == (False, f"{pki}/ca.pem", None)
    both = client('tls_verify = false\nca_file = "pki/ca.pem"\n'
                  'tls = { verify = false, ca_file = "pki/ca.pem", cert_file = "pki/client.pem", '
                  'key_file = "pki/client.key" }')
    assert (both.verify, both.ca_file, both.cert_file) == (False, f"{pki}/ca.pem", f"{pki}/client.pem")
    assert client("").verify is True


@pytest.mark.parametrize(("keys", "message"), [
    ('tls_verify = false\ntls = { verify = true }',
     "tls_verify = false and tls.verify = true disagree: keep tls.verify only"),
    ('ca_file = "pki/ca.pem"\ntls = { ca_file = "pki/other.pem" }',
     'ca_file = "{pki}/ca.pem" and tls.ca_file = "{pki}/other.pem" disagree: keep tls.ca_file only'),
])
def test_http_older_keys_that_disagree_are_refused(issues: Issues, pki: Path, keys: str, message: str) -> None:
    got = issues(f'[sources.a]\npaths = ["/x.log"]\n[sinks.w]\ntype = "http"\nurl = "https://h/"\n{keys}\n')
    assert got == [f"logproc.toml:3: sinks.w: {message.format(pki=pki)}"]


def test_tls_tables_where_they_do_not_apply(issues: Issues, pki: Path) -> None:
    head = '[sources.a]\npaths = ["/x.log"]\n[sinks.s]\n'
    assert issues(f'{head}type = "http"\nurl = "http://h/"\ntls = {{ verify = false }}\n') == [
        'logproc.toml:6: sinks.s.tls: only used with an "https://" url, not "http://h/"']
    assert issues(f'{head}type = "syslog"\naddress = "tcp://h:601"\ntls = {{ verify = false }}\n') == [
        'logproc.toml:3: sinks.s: tls is only used with a "tls://host:port" address, not "tcp://h:601"']
    assert issues(f'{head}type = "syslog"\naddress = "tls://h:6514"\nframing = "newline"\n') == [
        'logproc.toml:3: sinks.s: tls:// sends with octet counting (RFC 5425): remove framing = "newline"']


def test_check_says_where_each_sink_sends_and_its_guarantee(loads: Loads, pki: Path) -> None:
    loaded = loads(f"""
[sources.app]
paths = ["/nonexistent-logproc/x.log"]
[sinks.es]
type = "http"
url = "https://es:9200/_bulk"
encoding = "elasticsearch"
gzip = true
{TLS}
[sinks.esi]
type = "http"
url = "https://es:9200/_bulk"
encoding = "elasticsearch"
action = "index"
[sinks.loki]
type = "http"
url = "https://loki/push"
encoding = "loki"
tls = {{ verify = false }}
[sinks.udp]
type = "syslog"
address = "udp://h:514"
[sinks.tls]
type = "syslog"
address = "tls://h:6514"
{TLS}
""")
    text = describe(loaded)
    firsts = [line for line in text.splitlines() if line.startswith("  ") and not line.startswith("    ")]
    assert firsts[1:] == [
        "  es: http https://es:9200/_bulk (elasticsearch, gzip, client certificate) — exactly once (ids, create)",
        "  esi: http https://es:9200/_bulk (elasticsearch) — at least once (ids, index: a copy replaces "
        "its document)",
        "  loki: http https://loki/push (loki, not verified) — at least once",
        "  udp: syslog udp://h:514 (rfc5424, facility user) — at most once (UDP)",
        "  tls: syslog tls://h:6514 (rfc5424, facility user, client certificate) — at least once",
    ]
    assert "    warning: tls.verify = false: the server's certificate is not checked\n" in text
    assert text.count("warning: tls") == 1
    assert "PRIVATE KEY" not in text  # key files are never read into the report
    assert unverified(loaded.config.sinks["loki"]) == "tls.verify"
    assert unverified(loaded.config.sinks["es"]) is None
