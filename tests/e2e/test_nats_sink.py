"""The nats sink against a real nats-server with JetStream (`tests.nats_support`).

Every test starts its own server (free port, its own store folder) and, unless the test
is about its absence, a stream `LOGS` on `logs.>` with a 2-minute duplicate window. The
lines are numbered (`seq=<n>`); what the stream holds is read back with a JetStream
consumer and checked with the numbered-line oracle: exactly once means every number
once, no more. Exactly once across an outage and a SIGKILL rests on the entries' stable
ids (`Nats-Msg-Id`): the stream drops what it already has.
"""

from __future__ import annotations

import json
import signal
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, run_once, wait_for
from tests.nats_support import NatsServer, free_port, operator_mode
from tests.tls_support import make_pki

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(25)]


@pytest.fixture(name="server")
def fixture_server(work: Path) -> Iterator[NatsServer]:
    server = NatsServer(work / "nats").start()
    yield server
    server.stop()


def nats_config(write_config, server: NatsServer, sources: str = "", **keys: object) -> Path:
    """File source(s) into one nats sink `n` with `keys` (subject logs.{source} by default)."""
    keys = {"subject": "logs.{source}", **keys}
    sink = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    sources = sources or '[sources.app]\npaths = ["{work}/logs/app.log"]\n'
    return write_config(f'{sources}\n[sinks.n]\ntype = "nats"\nurl = "{server.url}"\n{sink}')


def wait_stored(server: NatsServer, n: int, timeout: float = 15) -> list[bytes]:
    got = wait_for(lambda: len(stored := server.read()) >= n and stored, timeout,
                   what=f"{n} messages in the stream")
    return [m.data for m in got]


def test_numbered_lines_arrive_exactly_once(work: Path, write_config, server: NatsServer) -> None:
    server.create_stream()
    n = 3000
    (work / "logs" / "app.log").write_bytes(numbered(0, n, "once"))
    result = run_once(nats_config(write_config, server), timeout=20)
    assert result.returncode == 0, result.stderr.decode()
    stored = server.read()
    check_sequence([m.data for m in stored], n)
    assert {m.subject for m in stored} == {"logs.app"}
    ids = [m.msg_id for m in stored]
    assert all(ids) and len(set(ids)) == n, "every message carries its entry's own Nats-Msg-Id"
    entry = json.loads(stored[0].data)
    assert entry["source"] == "app" and "seq=0 once" in entry["message"]


def test_subject_template_per_source(work: Path, write_config, server: NatsServer) -> None:
    """A field fills one token: the source `web.front` publishes to logs.web_front."""
    server.create_stream()
    sources = ('[sources.app]\npaths = ["{work}/logs/app.log"]\n'
               '[sources."web.front"]\npaths = ["{work}/logs/web.log"]\n')
    (work / "logs" / "app.log").write_bytes(numbered(0, 500, "app"))
    (work / "logs" / "web.log").write_bytes(numbered(500, 300, "web"))
    result = run_once(nats_config(write_config, server, sources, format="raw"), timeout=20)
    assert result.returncode == 0, result.stderr.decode()
    stored = server.read()
    by_subject: dict[str, list[bytes]] = {}
    for m in stored:
        by_subject.setdefault(m.subject, []).append(m.data)
    assert sorted(by_subject) == ["logs.app", "logs.web_front"]
    check_sequence(by_subject["logs.app"], range(500))
    check_sequence(by_subject["logs.web_front"], range(500, 800))
    assert by_subject["logs.app"][0] == b"seq=0 app "  # format = "raw": the line as read


def test_server_outage_mid_stream_every_line_once(work: Path, write_config, server: NatsServer) -> None:
    """The server killed for 10 s while lines flow (store kept, same port): the sink
    retries, nothing is acknowledged that the stream does not hold, every line once."""
    server.create_stream()
    log = LogWriter(work / "logs" / "app.log")
    written = 0
    with Daemon(nats_config(write_config, server, timeout=2, retry_max_backoff=1)) as d:
        d.wait_started()
        for _ in range(5):
            log.write(numbered(written, 200, "outage"))
            written += 200
            time.sleep(0.05)
        server.stop()
        down_until = time.monotonic() + 10
        while time.monotonic() < down_until:
            log.write(numbered(written, 100, "outage"))
            written += 100
            time.sleep(0.5)
        server.start()
        got = wait_stored(server, written)
        wait_for(lambda: "nats publishes succeed again" in d.log(), 5, what="the recovery logged")
        assert d.stop() == 0, d.log()
    assert "cannot reach the NATS server" in d.log() or "was lost" in d.log(), d.log()
    check_sequence(got, written)
    assert len(server.read()) == written


def test_sigkill_of_logproc_then_restart_every_line_once(work: Path, write_config,
                                                         server: NatsServer) -> None:
    """logproc SIGKILLed while lines flow: the restart sends again what its checkpoint does
    not cover, with the same ids; the stream keeps one copy of each."""
    server.create_stream()
    cfg = nats_config(write_config, server)
    log = LogWriter(work / "logs" / "app.log")
    n = 0
    with Daemon(cfg) as d:
        d.wait_started()
        for _ in range(20):
            log.write(numbered(n, 500, "kill"))
            n += 500
            time.sleep(0.01)
        wait_for(lambda: len(server.read()) >= 2000, 10, what="some lines in the stream")
        assert d.kill() == -signal.SIGKILL
    for _ in range(4):
        log.write(numbered(n, 250, "kill"))
        n += 250
    with Daemon(cfg) as d:
        d.wait_started()
        wait_stored(server, n)
        assert d.stop() == 0, d.log()
    check_sequence([m.data for m in server.read()], n)


def test_no_stream_logged_then_nothing_lost(work: Path, write_config, server: NatsServer) -> None:
    """No stream takes the subject: an error names it, nothing is acknowledged; once a
    stream is created every line arrives, once."""
    (work / "logs" / "app.log").write_bytes(numbered(0, 400, "nostream"))
    with Daemon(nats_config(write_config, server, retry_max_backoff=0.5)) as d:
        d.wait_started()
        wait_for(lambda: "no JetStream stream takes subject 'logs.app'" in d.log(), 10,
                 what="the missing stream logged")
        assert '"level":"error"' in next(line for line in d.log().splitlines() if "no JetStream" in line)
        state = work / "state" / "checkpoints.json"
        assert not state.exists() or b'"offset": 0' in state.read_bytes() or b'"offset":0' in state.read_bytes()
        server.create_stream()
        got = wait_stored(server, 400)
        assert d.stop() == 0, d.log()
    check_sequence(got, 400)
    assert len(server.read()) == 400


def test_core_nats_basic_delivery(work: Path, write_config, server: NatsServer) -> None:
    """jetstream = false: published with core NATS (a stream on the subject captures them)."""
    server.create_stream()
    (work / "logs" / "app.log").write_bytes(numbered(0, 1000, "core"))
    result = run_once(nats_config(write_config, server, jetstream=False), timeout=20)
    assert result.returncode == 0, result.stderr.decode()
    got = wait_stored(server, 1000, timeout=5)
    check_sequence(got, 1000)


def test_tls_and_password_from_the_url(work: Path, write_config) -> None:
    """A server requiring TLS (our CA) and a user with a password (percent-encoded in the
    URL): every line once; a wrong password is logged as the server says, nothing sent."""
    pki = make_pki(work / "pki")
    conf = (f'tls {{ cert_file: "{pki["server.pem"]}", key_file: "{pki["server.key"]}" }}\n'
            'authorization { user: "logs", password: "p@ss word" }\n')
    server = NatsServer(work / "nats", conf, {"tls": ssl.create_default_context(cafile=str(pki["ca.pem"])),
                                              "user": "logs", "password": "p@ss word"}).start()
    try:
        server.create_stream()
        (work / "logs" / "app.log").write_bytes(numbered(0, 500, "tls"))
        url = f"nats://logs:p%40ss%20word@127.0.0.1:{server.port}"
        cfg = write_config(f'[sources.app]\npaths = ["{{work}}/logs/app.log"]\n[sinks.n]\ntype = "nats"\n'
                           f'url = "{url}"\nsubject = "logs.app"\ntls = {{ ca_file = "{pki["ca.pem"]}" }}\n')
        result = run_once(cfg, timeout=20)
        assert result.returncode == 0, result.stderr.decode()
        check_sequence([m.data for m in server.read()], 500)
        wrong = cfg.read_text().replace("p%40ss%20word", "nope").replace("[daemon]\n", "[daemon]\nshutdown_timeout = 2\n")
        (work / "logs" / "app.log").write_bytes(numbered(500, 10, "tls"))
        with Daemon(write_config(wrong)) as d:
            wait_for(lambda: "Authorization Violation" in d.log(), 10, what="the refused login logged")
            assert "nope" not in d.log(), "never a credential in the log"
            assert d.stop() == 1, d.log()  # still retrying at the shutdown deadline: aborted
        assert len(server.read()) == 500
    finally:
        server.stop()


def test_credentials_file_and_a_cluster_with_a_dead_server(work: Path, write_config) -> None:
    """Operator mode: the user's .creds file signs the server's nonce. The URL list names a
    server that is down first: the live one takes every line, once."""
    conf, creds = operator_mode(work / "auth")
    server = NatsServer(work / "nats", conf, {"user_credentials": str(creds)}).start()
    try:
        server.create_stream()
        (work / "logs" / "app.log").write_bytes(numbered(0, 500, "creds"))
        urls = [f"nats://127.0.0.1:{free_port()}", server.url]
        cfg = write_config(f'[sources.app]\npaths = ["{{work}}/logs/app.log"]\n[sinks.n]\ntype = "nats"\n'
                           f'url = {json.dumps(urls)}\nsubject = "logs.app"\ncredentials_file = "{creds}"\n')
        result = run_once(cfg, timeout=20)
        assert result.returncode == 0, result.stderr.decode()
        check_sequence([m.data for m in server.read()], 500)
    finally:
        server.stop()
