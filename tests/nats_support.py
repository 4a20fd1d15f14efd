"""A real NATS server with JetStream for the nats sink's tests (Debian package
`nats-server`, installed by test.sh), and what the tests read back from it.

`NatsServer(folder)` runs `nats-server -js` on 127.0.0.1 and a free port, storing
JetStream in `folder/store`. `stop()` kills the process (SIGKILL: an outage, not a
shutdown) and keeps the store; `start()` again serves the same port and the same
streams. `create_stream` and `read` talk to it with nats-py, one short connection per
call (each call runs its own event loop), so a test stays synchronous.

`read(stream)` returns every message stored in the stream, in stream order, from an
ephemeral pull consumer: the exact count is what the stream holds, duplicates it dropped
(same `Nats-Msg-Id` within its duplicate window) never show.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig

from logproc.testing import wait_for

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def connect(url: str) -> nats.NATS:
    """One connection attempt, quiet (nats-py logs a traceback per failure by default)."""
    async def quiet(_exc: Exception) -> None:
        pass

    return await nats.connect(url, connect_timeout=1, allow_reconnect=False, error_cb=quiet)


@dataclass(frozen=True)
class Stored:
    seq: int
    subject: str
    msg_id: str | None  # the Nats-Msg-Id header
    data: bytes


class NatsServer:
    def __init__(self, folder: Path) -> None:
        if not os.access(NATS_SERVER, os.X_OK):
            pytest.fail("nats-server is missing (test.sh installs the Debian package nats-server)")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NatsServer:
        log = open(self.folder / "nats-server.log", "ab")  # noqa: SIM115 - the child holds it
        with log:
            self.proc = subprocess.Popen(
                [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port),
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
        nc = await connect(self.url)
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
            nc = await connect(self.url)
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
        nc = await connect(self.url)
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
