"""A real NATS server with JetStream for the nats sink's tests (Debian package
`nats-server`, installed by test.sh), and what the tests read back from it.

`NatsServer(folder)` runs `nats-server -js` on 127.0.0.1 and a free port, storing
JetStream in `folder/store`; `conf` adds a configuration file's text (TLS, authorization,
operator mode) and `client` the nats-py options its own connections need then. `stop()` kills the process (SIGKILL: an outage, not a
shutdown) and keeps the store; `start()` again serves the same port and the same
streams. `create_stream` and `read` talk to it with nats-py, one short connection per
call (each call runs its own event loop), so a test stays synchronous.

`read(stream)` returns every message stored in the stream, in stream order, from an
ephemeral pull consumer: the exact count is what the stream holds, duplicates it dropped
(same `Nats-Msg-Id` within its duplicate window) never show.

`operator_mode(folder)` writes what a decentralized-auth server needs (an operator, a
system account, an account with JetStream, a user: JWTs signed with `nkeys` as `nsc` would)
and returns the server's `conf` and the user's `.creds` file.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nats
import nkeys
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig

from logproc.testing import wait_for

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def connect(url: str, **options: object) -> nats.NATS:
    """One connection attempt, quiet (nats-py logs a traceback per failure by default)."""
    async def quiet(_exc: Exception) -> None:
        pass

    return await nats.connect(url, connect_timeout=1, allow_reconnect=False, error_cb=quiet, **options)


@dataclass(frozen=True)
class Stored:
    seq: int
    subject: str
    msg_id: str | None  # the Nats-Msg-Id header
    data: bytes


class NatsServer:
    def __init__(self, folder: Path, conf: str = "", client: dict[str, object] | None = None) -> None:
        if not os.access(NATS_SERVER, os.X_OK):
            pytest.fail("nats-server is missing (test.sh installs the Debian package nats-server)")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.conf = conf
        self.client = client or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NatsServer:
        extra: list[str] = []
        if self.conf:
            (self.folder / "nats.conf").write_text(self.conf)
            extra = ["-c", str(self.folder / "nats.conf")]
        log = open(self.folder / "nats-server.log", "ab")  # noqa: SIM115 - the child holds it
        with log:
            self.proc = subprocess.Popen(
                [NATS_SERVER, *extra, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                 "-sd", str(self.folder / "store")], stdout=log, stderr=log)
        wait_for(self._ready, 10, 0.05, what="nats-server to serve JetStream")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log()
        try:  # listening first: nats-py waits 2 s before trying a refusing server again
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            asyncio.run(self._account())
        except Exception:
            return False
        return True

    async def _account(self) -> None:
        nc = await connect(self.url, **self.client)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        path = self.folder / "nats-server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- talking to it -------------------------------------------------------------------
    def create_stream(self, name: str = "LOGS", subjects: tuple[str, ...] = ("logs.>",),
                      duplicate_window: float = 120) -> None:
        async def create() -> None:
            nc = await connect(self.url, **self.client)
            try:
                await nc.jetstream().add_stream(StreamConfig(
                    name=name, subjects=list(subjects), duplicate_window=duplicate_window))
            finally:
                await nc.close()

        asyncio.run(create())

    def read(self, stream: str = "LOGS", after: int = 0) -> list[Stored]:
        """Every message of `stream` with a sequence number past `after`, in order."""
        return asyncio.run(self._read(stream, after))

    async def _read(self, stream: str, after: int) -> list[Stored]:
        nc = await connect(self.url, **self.client)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(stream)).state.last_seq
            if last <= after:
                return []
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                    opt_start_seq=after + 1)
            sub = await js.pull_subscribe("", stream=stream, config=config)
            out: list[Stored] = []
            while not out or out[-1].seq < last:
                for m in await sub.fetch(min(1000, last - (out[-1].seq if out else after)), timeout=5):
                    await m.ack()
                    out.append(Stored(m.metadata.sequence.stream, m.subject,
                                      (m.headers or {}).get("Nats-Msg-Id"), m.data))
            await sub.unsubscribe()
            return out
        finally:
            await nc.close()


def operator_mode(folder: Path) -> tuple[str, Path]:
    """The `conf` of a server trusting a new operator, and a user's .creds file (see the
    module doc); in `folder`."""
    def key(prefix: int) -> tuple[bytes, nkeys.KeyPair]:
        seed = nkeys.encode_seed(os.urandom(32), prefix)
        return seed, nkeys.from_seed(bytearray(seed))

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def jwt(issuer: nkeys.KeyPair, subject: nkeys.KeyPair, name: str, claims: dict[str, object]) -> str:
        body: dict[str, object] = {"iat": 1, "iss": issuer.public_key.decode(), "name": name,
                                   "sub": subject.public_key.decode(), "nats": {"version": 2, **claims}}
        body["jti"] = base64.b32encode(hashlib.sha256(json.dumps(body).encode()).digest()).decode().rstrip("=")
        signed = f"{b64(json.dumps({'typ': 'JWT', 'alg': 'ed25519-nkey'}).encode())}.{b64(json.dumps(body).encode())}"
        return f"{signed}.{b64(issuer.sign(signed.encode()))}"

    unlimited = {"subs": -1, "conn": -1, "leaf": -1, "imports": -1, "exports": -1, "data": -1,
                 "payload": -1, "wildcards": True}
    _, operator = key(nkeys.PREFIX_BYTE_OPERATOR)
    _, system = key(nkeys.PREFIX_BYTE_ACCOUNT)
    _, account = key(nkeys.PREFIX_BYTE_ACCOUNT)
    user_seed, user = key(nkeys.PREFIX_BYTE_USER)
    sys_id, acc_id = system.public_key.decode(), account.public_key.decode()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "operator.jwt").write_text(jwt(operator, operator, "op", {"type": "operator",
                                                                        "system_account": sys_id}))
    js_limits = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}
    accounts = {sys_id: jwt(operator, system, "SYS", {"type": "account", "limits": unlimited}),
                acc_id: jwt(operator, account, "logs", {"type": "account",
                                                        "limits": {**unlimited, **js_limits}})}
    user_jwt = jwt(account, user, "logproc", {"type": "user", "pub": {}, "sub": {}, "subs": -1,
                                              "data": -1, "payload": -1})
    creds = folder / "logproc.creds"
    creds.write_text(f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
                     f"-----BEGIN USER NKEY SEED-----\n{user_seed.decode()}\n------END USER NKEY SEED------\n")
    preload = ", ".join(f'{k}: "{v}"' for k, v in accounts.items())
    conf = (f'operator: "{folder / "operator.jwt"}"\nsystem_account: {sys_id}\nresolver: MEMORY\n'
            f"resolver_preload: {{ {preload} }}\n")
    return conf, creds


class NatsHarness:
    """The nats sink's harness for the contract suite (`tests.contract.harness`), with the
    same interface as `SinkHarness`, which it cannot subclass without an import cycle. A
    stream `FORMS` takes `form0.>` and `form1.>`; form `n` publishes raw lines to
    `form<n>.<source>`. Down: the server killed (store kept); up: started again on its
    port. A JetStream acknowledgement means the stream holds the message: nothing in
    transit."""

    kind = "nats"
    fault = True
    in_transit = 0.0

    def __init__(self, work: Path) -> None:
        self.work = work
        self.server = NatsServer(work / "nats").start()
        self.server.create_stream("FORMS", ("form0.>", "form1.>"))
        self._stored: list[Stored] = []  # read so far (kept while the server is down)

    def sink_toml(self, form: int, linger: bool = False) -> str:
        del linger  # the nats sink does not batch: nothing to linger over
        return (f'type = "nats"\nurl = "{self.server.url}"\nsubject = "form{form}.{{source}}"\n'
                'format = "raw"\ntimeout = 2\nretry_max_backoff = 0.3\n')

    def daemon_args(self) -> dict[str, object]:
        return {}

    def arrived(self) -> list[tuple[int, bytes]]:
        if self.server.proc is not None:
            self._stored += self.server.read("FORMS", self._stored[-1].seq if self._stored else 0)
        return [(int(m.subject.split(".", 1)[0].removeprefix("form")), m.data) for m in self._stored]

    def down(self) -> None:
        self.server.stop()

    def up(self) -> None:
        self.server.start()

    def close(self) -> None:
        self.server.stop()
