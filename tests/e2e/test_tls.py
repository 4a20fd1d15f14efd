"""The `tls = { … }` table of network sinks through the real `logproc` command, against
servers that check certificates (`tests.tls_support`: a throwaway CA made by `openssl`).

- http: an HTTPS receiver requiring client certificates (mutual TLS): without
  `cert_file` every request fails, is logged and retried, and nothing is acknowledged, so
  the next run with the certificate delivers every line exactly once; `verify = false`
  (or the older `tls_verify = false`) against a self-signed server delivers and warns
  once, when the sink is built;
- syslog `tls://` (RFC 5425): a real rsyslogd with imtcp over gtls, requiring a client
  certificate its CA signed (`x509/certvalid`): every numbered message exactly once; a
  wrong `ca_file`: no delivery, errors logged, retried; the CA bundle fixed (same path,
  then a SIGHUP) is used from the next connection on, and everything arrives, none lost.

Paths in the `tls` tables are relative to the config file (resolved by the loader).
"""

from __future__ import annotations

import signal
import socket
import ssl
from pathlib import Path

import pytest

from logproc.testing import Daemon, HttpTestServer, LogWriter, check_sequence, numbered, run_once, wait_for
from tests.e2e.test_syslog_sink import Rsyslog, fixture_rsyslog, free_port  # noqa: F401 - the fixture
from tests.tls_support import HttpsReceiver, make_pki

pytestmark = pytest.mark.e2e

WARNING = "TLS certificate verification is off for this sink"


def http_config(write_config, url: str, tls: str, daemon: str = "") -> Path:
    return write_config(
        f'[daemon]\nstate_dir = "{{work}}/state"\nmetrics_address = ""\nwatch_config = false\n'
        f"checkpoint_interval = 0.2\nshutdown_timeout = 1\n{daemon}\n"
        '[sources.app]\npaths = ["{work}/logs/*.log"]\n\n'
        f'[sinks.web]\ntype = "http"\nurl = "{url}"\nbatch_timeout = 0.05\nretry_max_backoff = 0.5\n{tls}\n')


@pytest.mark.timeout(20)
def test_http_mutual_tls_needs_the_client_certificate(work: Path, write_config) -> None:
    make_pki(work / "pki")
    n = 3000
    (work / "logs" / "a.log").write_bytes(numbered(0, n))
    with HttpsReceiver(work / "pki/server.pem", work / "pki/server.key", client_ca=work / "pki/ca.pem") as rx:
        no_cert = http_config(write_config, rx.url(), 'tls = { ca_file = "pki/ca.pem" }')
        with Daemon(no_cert, log_path=work / "first.log") as d:
            d.wait_started()
            wait_for(lambda: d.log().count("http request failed") >= 1, 10, what="a failed request")
            d.stop()
        assert rx.bodies() == []  # refused at the handshake: nothing delivered, nothing acknowledged
        with_cert = http_config(write_config, rx.url("localhost"),
                                'tls = { ca_file = "pki/ca.pem", cert_file = "pki/client.pem", '
                                'key_file = "pki/client.key" }')
        done = run_once(with_cert, timeout=15)
        assert done.returncode == 0, done.stderr.decode()
        check_sequence(b"".join(rx.bodies()), n)  # exactly once: none missing, none twice
    log = d.log() + done.stderr.decode()
    assert "PRIVATE KEY" not in log and WARNING not in log


@pytest.mark.timeout(20)
@pytest.mark.parametrize("keys", ["tls = { verify = false }", "tls_verify = false"])
def test_http_verify_false_delivers_and_warns_once(work: Path, write_config, keys: str) -> None:
    pki = make_pki(work / "pki")
    n = 500
    (work / "logs" / "a.log").write_bytes(numbered(0, n))
    with HttpTestServer(tls=(str(pki["self-signed.pem"]), str(pki["self-signed.key"]))) as server:
        cfg = http_config(write_config, server.url("/in"), keys)
        done = run_once(cfg, timeout=15)
        assert done.returncode == 0, done.stderr.decode()
        check_sequence(b"".join(server.bodies()), n)
    log = done.stderr.decode()
    key = "tls.verify" if "{" in keys else "tls_verify"
    assert log.count(WARNING) == 1 and f"({key} = false)" in log, log
    assert '"sink":"web"' in log.replace(" ", "") or "sink=web" in log


@pytest.mark.timeout(20)
def test_http_without_ca_the_self_signed_server_is_refused(work: Path, write_config) -> None:
    """Verification is the default: a server signed by nobody gets nothing, errors logged."""
    pki = make_pki(work / "pki")
    (work / "logs" / "a.log").write_bytes(numbered(0, 10))
    with HttpTestServer(tls=(str(pki["self-signed.pem"]), str(pki["self-signed.key"]))) as server:
        cfg = http_config(write_config, server.url("/in"), 'tls = { ca_file = "pki/other-ca.pem" }')
        with Daemon(cfg, log_path=work / "daemon.log") as d:
            d.wait_started()
            wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in d.log(), 10, what="the refused certificate")
            d.stop()
        assert server.count == 0


# -- syslog over TLS to rsyslogd ---------------------------------------------------------------
class TlsRsyslog(Rsyslog):
    """rsyslogd with imtcp over gtls, requiring a client certificate signed by the CA."""

    def __init__(self, folder: Path, port: int, pki: dict[str, Path]) -> None:
        super().__init__(folder, "tcp", port)
        self.pki = pki
        self.conf.write_text(
            f'global(workDirectory="{folder}" maxMessageSize="64k"\n'
            f'       DefaultNetstreamDriverCAFile="{pki["ca.pem"]}"\n'
            f'       DefaultNetstreamDriverCertFile="{pki["server.pem"]}"\n'
            f'       DefaultNetstreamDriverKeyFile="{pki["server.key"]}")\n'
            'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
            'StreamDriver.AuthMode="x509/certvalid")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
            'template(name="t" type="string" string="%pri%|%syslogfacility-text%|'
            '%syslogseverity-text%|%app-name%|%msg%\\n")\n'
            f'action(type="omfile" file="{self.out}" template="t")\n')

    def send_probe(self, msg: bytes) -> None:
        ctx = ssl.create_default_context(cafile=str(self.pki["ca.pem"]))
        ctx.load_cert_chain(self.pki["client.pem"], self.pki["client.key"])
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"%d %b" % (len(msg), msg))


def syslog_config(write_config, port: int, ca: str) -> Path:
    return write_config(
        '[sources.app]\npaths = ["{work}/logs/*.log"]\n\n'
        f'[sinks.rx]\ntype = "syslog"\naddress = "tls://127.0.0.1:{port}"\napp_name = "lp-tls"\n'
        f'tls = {{ ca_file = "{ca}", cert_file = "pki/client.pem", key_file = "pki/client.key", '
        'server_name = "localhost" }\n')


def start_tls_rsyslog(started: list[Rsyslog], work: Path) -> TlsRsyslog:
    pki = make_pki(work / "pki")
    r = TlsRsyslog(work / "rsyslog", free_port(socket.SOCK_STREAM), pki)
    started.append(r)
    r.start()
    return r


def messages(r: Rsyslog) -> list[bytes]:
    return [row[4].encode() for row in r.records("lp-tls")]


@pytest.mark.timeout(20)
def test_syslog_over_tls_mutual_every_message_exactly_once(work: Path, write_config, rsyslog) -> None:
    r = start_tls_rsyslog(rsyslog, work)
    ctx = ssl.create_default_context(cafile=str(r.pki["ca.pem"]))  # no client certificate: refused
    with socket.create_connection(("127.0.0.1", r.port), timeout=2) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        msg = b"<13>1 - - lp-tls - - - seq=999999 without a certificate"
        s.sendall(b"%d %b" % (len(msg), msg))
    n = 5000
    (work / "logs" / "a.log").write_bytes(numbered(0, n))
    done = run_once(syslog_config(write_config, r.port, "pki/ca.pem"), timeout=15)
    assert done.returncode == 0, done.stderr.decode()
    got = wait_for(lambda: (ms := messages(r)) and len(ms) >= n and ms, 10, what=f"{n} messages at rsyslogd")
    check_sequence(got, n)
    assert "tls://127.0.0.1" in done.stderr.decode()  # "syslog connected", with its address


@pytest.mark.timeout(20)
def test_syslog_wrong_ca_delivers_nothing_until_fixed(work: Path, write_config, rsyslog) -> None:
    r = start_tls_rsyslog(rsyslog, work)
    trust = work / "trust.pem"
    trust.write_bytes((work / "pki/other-ca.pem").read_bytes())
    cfg = syslog_config(write_config, r.port, "trust.pem")
    writer = LogWriter(work / "logs" / "a.log")
    n = 2000
    with Daemon(cfg, log_path=work / "daemon.log") as d:
        d.wait_started()
        writer.write(numbered(0, n))
        wait_for(lambda: d.log().count("CERTIFICATE_VERIFY_FAILED") >= 2, 10,
                 what="failed handshakes, retried")
        assert messages(r) == []
        trust.write_bytes((work / "pki/ca.pem").read_bytes())  # the bundle fixed where it is
        d.signal(signal.SIGHUP)  # the config is unchanged: the next connection reads the files
        got = wait_for(lambda: (ms := messages(r)) and len(ms) >= n and ms, 10, what="every message")
        assert d.stop() == 0, d.log()
    writer.close()
    check_sequence(got, n)
