"""The syslog source (a receiver) against real senders: util-linux `logger` on a unix
datagram socket, UDP and TCP (newline and octet-counted), an unprivileged rsyslogd
forwarding with omfwd over TCP and TCP+TLS (gtls, certificates made by `openssl`), and
Python clients for exact counts, backpressure, drops and shutdown.

Every message carries `seq=<n>`; the numbered-line oracle checks each arrived exactly
once. Where datagrams are dropped on purpose (a full queue), the count dropped in
/metrics must be exactly what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from logproc.testing import Daemon, HttpTestServer, Reply, check_sequence, run_once, wait_for
from tests.e2e.test_syslog_sink import RSYSLOGD, free_port

pytestmark = pytest.mark.e2e

LOGGER = shutil.which("logger") or "/usr/bin/logger"


# -- helpers --------------------------------------------------------------------------------
def config(work: Path, listen: list[str], extra: str = "", sink: str = "", daemon: str = "") -> Path:
    sink = sink or f'type = "file"\npath = "{work}/out/all.jsonl"\nformat = "json"'
    daemon = daemon or 'metrics_address = ""'
    text = (f'[daemon]\nstate_dir = "{work}/state"\nwatch_config = false\n'
            f"{daemon}\n\n"
            f'[sources.net]\ntype = "syslog"\nlisten = {json.dumps(listen)}\n{extra}\n\n'
            f"[sinks.out]\n{sink}\n")
    path = work / "logproc.toml"
    path.write_text(text)
    return path


def entries(work: Path) -> list[dict]:
    out = work / "out" / "all.jsonl"
    return [json.loads(x) for x in out.read_bytes().splitlines()] if out.exists() else []


def out_lines(work: Path) -> int:
    out = work / "out" / "all.jsonl"
    return out.read_bytes().count(b"\n") if out.exists() else 0


def msg5424(seq: int, app: str = "app", pad: str = "") -> bytes:
    return f"<14>1 2026-12-01T10:00:00.000Z host {app} 42 - - seq={seq} {pad}".encode()


def octets(msgs: list[bytes]) -> bytes:
    return b"".join(b"%d %b" % (len(m), m) for m in msgs)


def started(cfg: Path, work: Path) -> Daemon:
    d = Daemon(cfg, log_path=work / "daemon.log")
    d.wait_started()
    return d


def metric(port: int, name: str, labels: str = "") -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + "{")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- logger: the everyday senders -----------------------------------------------------------
def test_logger_over_a_unix_socket_udp_and_tcp(work: Path) -> None:
    sock_path = work / "dev-log"
    udp, tcp = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    cfg = config(work, [f"unix://{sock_path}", f"udp://127.0.0.1:{udp}", f"tcp://127.0.0.1:{tcp}"])
    # a stale socket left by a crash is replaced
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(sock_path))
    stale.close()
    with started(cfg, work) as d:
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o666
        runs = [("unix", ["-u", str(sock_path)], 0), ("udp", ["--udp", "--server", "127.0.0.1", "--port", str(udp)], 100),
                ("tcp", ["--tcp", "--server", "127.0.0.1", "--port", str(tcp)], 200),
                ("octet", ["--tcp", "--octet-count", "--rfc5424", "--server", "127.0.0.1", "--port", str(tcp)], 300)]
        for tag, args, first in runs:
            lines = "".join(f"seq={n} via {tag}\n" for n in range(first, first + 100))
            subprocess.run([LOGGER, "--socket-errors=on", "-t", f"app-{tag}", *args], input=lines.encode(),
                           check=True, timeout=10)
            wait_for(lambda first=first: out_lines(work) >= first + 100, 10, what=f"{tag} messages")
        assert d.stop() == 0
    assert not sock_path.exists()  # removed at stop
    got = entries(work)
    check_sequence("\n".join(e["message"] for e in got).encode(), 400)
    by_app = {}
    for e in got:
        by_app.setdefault(e["app_name"], set()).add(e["file"].split("://")[0])
    assert by_app == {"app-unix": {"unix"}, "app-udp": {"udp"}, "app-tcp": {"tcp"}, "app-octet": {"tcp"}}
    assert {e["file"] for e in got if e["app_name"] == "app-unix"} == {f"unix://{sock_path}"}
    assert all(e["file"].startswith("tcp://127.0.0.1:") for e in got if e["app_name"] == "app-octet")
    assert all(e["level"] == "notice" and e["facility"] == "user" and e["source"] == "net" for e in got)


# -- exact counts, many clients ---------------------------------------------------------------
def test_20000_messages_from_4_concurrent_clients_arrive_exactly_once(work: Path) -> None:
    port = free_port(socket.SOCK_STREAM)
    cfg = config(work, [f"tcp://127.0.0.1:{port}"])
    per = 5000

    def client(k: int) -> None:
        msgs = [msg5424(k * per + i, app=f"c{k}") for i in range(per)]
        with socket.create_connection(("127.0.0.1", port)) as s:
            for i in range(0, per, 250):  # octet counting for two, newlines for the others
                chunk = msgs[i:i + 250]
                s.sendall(octets(chunk) if k % 2 else b"".join(m + b"\n" for m in chunk))

    with started(cfg, work) as d:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        wait_for(lambda: out_lines(work) >= 4 * per, 15, what="every message")
        assert d.stop() == 0
    got = entries(work)
    check_sequence("\n".join(e["message"] for e in got).encode(), 4 * per)
    for k in range(4):  # per client: its own numbers, in order, from one peer
        mine = [e for e in got if e["app_name"] == f"c{k}"]
        assert [int(e["message"].split("=")[1]) for e in mine] == list(range(k * per, (k + 1) * per))
        assert len({e["file"] for e in mine}) == 1


def test_long_messages_are_cut_and_counted(work: Path) -> None:
    port, udp = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    cfg = config(work, [f"tcp://127.0.0.1:{port}", f"udp://127.0.0.1:{udp}"], "max_message_bytes = 1000")
    long0, long1 = msg5424(0, pad="x" * 3000), msg5424(1, pad="y" * 3000)
    with started(cfg, work) as d:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(octets([long0, msg5424(2)]) + b"\n" + msg5424(3) + b"\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(long1, ("127.0.0.1", udp))
        wait_for(lambda: out_lines(work) >= 4, 10, what="the messages")
        assert d.stop() == 0
        log = d.log()
    got = {int(e["message"].split()[0].split("=")[1]): e["message"] for e in entries(work)}
    assert sorted(got) == [0, 1, 2, 3]
    prefix = len(msg5424(0)) - len("seq=0 ")  # the header the parser takes off
    assert len(got[0]) == len(got[1]) == 1000 - prefix
    assert '"pieces":2' in log  # two messages cut


# -- rsyslogd forwarding with omfwd (TCP, TCP+TLS) -----------------------------------------------
class Forwarder:
    """An unprivileged rsyslogd that reads a file (imfile) and forwards each line with omfwd."""

    def __init__(self, folder: Path, port: int, tls: dict[str, Path] | None = None) -> None:
        folder.mkdir()
        self.folder, self.input = folder, folder / "in.log"
        self.input.write_bytes(b"")
        extra, driver = "", ""
        if tls:
            extra = (f' DefaultNetstreamDriverCAFile="{tls["ca"]}" DefaultNetstreamDriverCertFile='
                     f'"{tls["cert"]}" DefaultNetstreamDriverKeyFile="{tls["key"]}"')
            driver = (' StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"'
                      ' StreamDriverPermittedPeers="localhost"')
        (folder / "rsyslog.conf").write_text(
            f'global(workDirectory="{folder}" maxMessageSize="64k"{extra})\n'
            'module(load="imfile" PollingInterval="1")\n'
            f'input(type="imfile" File="{self.input}" Tag="fwd" Severity="warning" Facility="local3")\n'
            f'action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"{driver}\n'
            '       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"\n'
            '       action.resumeRetryCount="-1" action.resumeInterval="1")\n')
        self.log = open(folder / "stderr", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(folder / "rsyslog.conf"), "-i",
                                      str(folder / "pid")], stdout=self.log, stderr=self.log)

    def write(self, data: bytes) -> None:
        with open(self.input, "ab") as f:
            f.write(data)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture(name="forwarders")
def fixture_forwarders() -> Iterator[list[Forwarder]]:
    if not os.access(RSYSLOGD, os.X_OK):
        pytest.skip("rsyslogd not installed (test.sh installs the Debian packages rsyslog, rsyslog-gnutls)")
    started_: list[Forwarder] = []
    yield started_
    for f in started_:
        f.stop()


def make_pki(folder: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for localhost/127.0.0.1 and a client one."""
    folder.mkdir()

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=logproc test CA")
    for who, san in (("server", "DNS:localhost,IP:127.0.0.1"), ("client", "DNS:localhost")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
            "-subj", "/CN=localhost")
        (folder / f"{who}.ext").write_text(f"subjectAltName={san}\n")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{who}.pem", "-days", "2", "-extfile", f"{who}.ext")
    return {name: folder / name for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


@pytest.mark.parametrize("use_tls", [False, True], ids=["tcp", "tls"])
def test_rsyslogd_forwards_with_omfwd(work: Path, forwarders: list[Forwarder], use_tls: bool) -> None:
    port = free_port(socket.SOCK_STREAM)
    extra, tls = "", None
    if use_tls:
        pki = make_pki(work / "pki")
        extra = (f'tls = {{ cert_file = "{pki["server.pem"]}", key_file = "{pki["server.key"]}", '
                 f'ca_file = "{pki["ca.pem"]}" }}')
        tls = {"ca": pki["ca.pem"], "cert": pki["client.pem"], "key": pki["client.key"]}
    cfg = config(work, [f"tcp://127.0.0.1:{port}"], extra)
    with started(cfg, work) as d:
        fwd = Forwarder(work / "rsyslog", port, tls)
        forwarders.append(fwd)
        n = 3000
        fwd.write("".join(f"seq={i} forwarded\n" for i in range(n)).encode())
        wait_for(lambda: out_lines(work) >= n, 15, 0.05, what=f"{n} forwarded messages")
        assert d.stop() == 0
        assert "client refused" not in d.log()
    got = entries(work)
    check_sequence("\n".join(e["message"] for e in got).encode(), n)
    assert {(e["app_name"], e["level"], e["facility"]) for e in got} == {("fwd", "warning", "local3")}


def test_tls_client_certificates_are_required_with_ca_file(work: Path) -> None:
    pki = make_pki(work / "pki")
    port = free_port(socket.SOCK_STREAM)
    cfg = config(work, [f"tcp://127.0.0.1:{port}"], f'tls = {{ cert_file = "{pki["server.pem"]}", '
                 f'key_file = "{pki["server.key"]}", ca_file = "{pki["ca.pem"]}" }}')

    def send(cert: bool, first: int) -> None:
        ctx = ssl.create_default_context(cafile=str(pki["ca.pem"]))
        if cert:
            ctx.load_cert_chain(pki["client.pem"], pki["client.key"])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(octets([msg5424(first + i, app="cert" if cert else "nocert") for i in range(50)]))
            s.recv(1)  # TLS 1.3: a refused client certificate shows on the first read; else EOF at stop

    with started(cfg, work) as d:
        # the alert (certificate required) or, when the close overtakes it, an EOF or a reset
        with pytest.raises(OSError):
            send(False, 1000)
        wait_for(lambda: "client refused" in d.log(), 10, what="the refusal to be logged")
        assert "TLS handshake failed: PEER_DID_NOT_RETURN_A_CERTIFICATE" in d.log()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:  # not TLS at all
            raw.sendall(b"<13>plain text seq=2000\n")
        threading.Thread(target=send, args=(True, 0), daemon=True).start()
        wait_for(lambda: out_lines(work) >= 50, 10, what="the certified client's messages")
        assert d.stop() == 0
    got = entries(work)
    assert {e["app_name"] for e in got} == {"cert"}
    check_sequence("\n".join(e["message"] for e in got).encode(), 50)


# -- backpressure and drops ----------------------------------------------------------------------
def http_setup(work: Path, server: HttpTestServer, listen: list[str]) -> tuple[Path, int]:
    mport = free_port(socket.SOCK_STREAM)
    cfg = config(work, listen, sink=f'type = "http"\nurl = "{server.url("/in")}"\nretry_max_backoff = 0.3',
                 daemon=f'metrics_address = "127.0.0.1:{mport}"\nqueue_size = 1000\nworkers = 0')
    return cfg, mport


def delivered(server: HttpTestServer) -> bytes:
    return b"\n".join(server.bodies())


def test_a_stalled_sink_blocks_tcp_senders_and_loses_nothing(work: Path) -> None:
    stalled = threading.Event()
    stalled.set()
    port = free_port(socket.SOCK_STREAM)
    with HttpTestServer(respond=lambda r: Reply(503) if stalled.is_set() else Reply(200)) as server:
        cfg, _ = http_setup(work, server, [f"tcp://127.0.0.1:{port}"])
        n, sent = 40_000, [0]
        payload = b"".join(msg5424(i, pad="p" * 400) + b"\n" for i in range(n))

        def sender() -> None:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
                view = memoryview(payload)
                while view:
                    k = s.send(view[:65536])
                    sent[0] += k
                    view = view[k:]

        with started(cfg, work) as d:
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            # the sender stops making progress: its sends block while the sink refuses
            def stuck() -> bool:
                before = sent[0]
                return 0 < before < len(payload) and server.count > 2 and not _moved(sent, before)

            wait_for(stuck, 15, 0.2, what="the sender to block")
            assert t.is_alive() and sent[0] < len(payload)
            stalled.clear()
            t.join(20)
            assert not t.is_alive()
            wait_for(lambda: delivered(server).count(b"seq=") >= n, 20, 0.1, what="everything")
            assert d.stop() == 0
    check_sequence(delivered(server), n)


def _moved(sent: list[int], before: int) -> bool:
    """Whether the sender made progress within half a second."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if sent[0] != before:
            return True
        time.sleep(0.05)
    return False


def test_udp_while_the_queue_is_full_is_dropped_and_counted_exactly(work: Path) -> None:
    stalled = threading.Event()
    stalled.set()
    udp = free_port(socket.SOCK_DGRAM)
    with HttpTestServer(respond=lambda r: Reply(503) if stalled.is_set() else Reply(200)) as server:
        cfg, mport = http_setup(work, server, [f"udp://127.0.0.1:{udp}"])
        with started(cfg, work) as d, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            total = 0
            for burst in range(40):  # bursts the receiver reads whole: the kernel drops nothing
                for i in range(100):
                    u.sendto(msg5424(burst * 100 + i), ("127.0.0.1", udp))
                total += 100
                wait_for(lambda total=total: metric(mport, "logproc_source_lines_read_total") >= total,
                         10, what=f"{total} datagrams read")
            dropped = metric(mport, "logproc_entries_dropped_total", '{reason="receiver_full",source="net"}')
            assert dropped > 0
            stalled.clear()
            wait_for(lambda: delivered(server).count(b"seq=") >= total - dropped, 20, 0.1, what="the rest")
            assert d.stop() == 0
    report = check_sequence(delivered(server), total, allow_missing=total)
    assert len(report.missing) == dropped == total - report.received


# -- lifecycle -------------------------------------------------------------------------------------
def test_sigterm_right_after_the_last_write_delivers_everything(work: Path) -> None:
    port = free_port(socket.SOCK_STREAM)
    cfg = config(work, [f"tcp://127.0.0.1:{port}"])
    n = 30_000
    with started(cfg, work) as d:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(octets([msg5424(i) for i in range(n)]))
            s.shutdown(socket.SHUT_WR)
            d.signal(signal.SIGTERM)
        assert d.wait(30) == 0
    check_sequence("\n".join(e["message"] for e in entries(work)).encode(), n)


def test_a_port_in_use_is_a_start_up_error_naming_the_address(work: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = config(work, [f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}", f"tcp://127.0.0.1:{port}"])
        with Daemon(cfg, log_path=work / "daemon.log") as d:
            assert d.wait(20) == 2
            assert f"logproc: source 'net': cannot listen on tcp://127.0.0.1:{port}: Address already in use\n" in d.log()


def test_run_once_refuses_a_receiver(work: Path) -> None:
    cfg = config(work, [f"tcp://127.0.0.1:{free_port(socket.SOCK_STREAM)}"])
    done = run_once(cfg, timeout=30)
    assert done.returncode == 2
    assert done.stderr.decode().endswith(
        "logproc: source 'net': a syslog receiver has no end; run --once reads files and journals\n")
