"""What the contract suites need to run a kind against a real local destination or input.

Sinks: a `SinkHarness` per kind in `SINK_HARNESSES` (one line per kind). It writes the
`[sinks.out]` keys for one of two *forms* (the reload test switches form 0 → 1, and every
entry that arrives tells which form wrote it), and reads back what arrived. A harness
whose destination can fail and heal from outside sets `fault = True` and implements
`down()`/`up()`; kinds without one are listed, with the reason, in `NO_FAULT`.

Sources: a `SourceHarness` per kind in `SOURCE_HARNESSES` (one line per kind). It writes
the `[sources.<name>]` keys of instance `i` (two instances must not share input), and
feeds numbered lines into instance `i`. `positions = False` marks a receiver (nothing
to resume from: it is asked only to deliver what it received).

The daemon runs from a config written by `config()`, with its metrics on a free loopback
port (scraped by `metrics()`), and a `file` source `in` on `logs/in.log` for the sink
suite.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logproc.testing import SEQ, HttpTestServer, Received, Reply
from tests.kafka_support import KafkaHarness
from tests.nats_support import NatsHarness


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the daemon around the kind under test -----------------------------------------------
def config(work: Path, port: int, sources: str, sinks: str, shutdown_timeout: float = 5) -> str:
    return (f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = "127.0.0.1:{port}"\n'
            f"watch_config = false\ncheckpoint_interval = 0.2\nshutdown_timeout = {shutdown_timeout}\n\n"
            f"{sources}\n{sinks}\n")


def metrics(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of `/metrics`, keyed by (name, labels); empty while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            body = r.read().decode()
    except OSError:
        return {}
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(body) for s in fam.samples}


def metric(port: int, name: str, **labels: str) -> float:
    """One sample (-1 when absent)."""
    return metrics(port).get((name, frozenset(labels.items())), -1.0)


def checkpoint_offsets(work: Path, source: str) -> list[int]:
    """The offsets the committed checkpoint file holds for `source` (format version 2)."""
    path = work / "state" / "checkpoints.json"
    try:
        doc = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return []
    assert doc["version"] == 2
    return [f["offset"] for f in doc["files"] if f["source"] == source]


def seqs(messages: list[bytes]) -> list[int]:
    """The sequence number of each message (one per message, in order)."""
    out = []
    for m in messages:
        found = SEQ.findall(m)
        assert len(found) == 1, m
        out.append(int(found[0]))
    return out


# -- sinks -----------------------------------------------------------------------------
class SinkHarness:
    """A sink kind's destination; see the module doc."""

    kind: ClassVar[str]
    fault: ClassVar[bool] = False
    #: seconds an acknowledged entry may take to show at the destination: 0 when the
    #: destination has it before the write returns; more when the kind acknowledges once
    #: the destination's kernel accepted it (it is then in flight to the reader)
    in_transit: ClassVar[float] = 0.0

    def __init__(self, work: Path) -> None:
        self.work = work

    def sink_toml(self, form: int, linger: bool = False) -> str:
        """The keys of `[sinks.out]` (with `type`) for `form` 0 or 1. `linger`: hold entries
        in the sink for seconds before writing when the kind batches (the shutdown test)."""
        raise NotImplementedError

    def arrived(self) -> list[tuple[int, bytes]]:
        """(form, entry) for every entry at the destination, in arrival order."""
        raise NotImplementedError

    def daemon_args(self) -> dict[str, Any]:
        """Extra keyword arguments of `logproc.testing.Daemon`."""
        return {}

    def down(self) -> None:
        """The destination fails every write (fault = True only)."""
        raise NotImplementedError

    def up(self) -> None:
        """The destination accepts writes again."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class StdoutHarness(SinkHarness):
    """The daemon's standard output, into a file; form 0 writes raw lines, form 1 JSON."""

    kind = "stdout"

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.path = work / "out" / "stdout"
        self._out = open(self.path, "wb")  # noqa: SIM115 - closed in close()

    def sink_toml(self, form: int, linger: bool = False) -> str:
        return f'type = "stdout"\nformat = "{("raw", "json")[form]}"\n'

    def daemon_args(self) -> dict[str, Any]:
        return {"stdout": self._out}

    def arrived(self) -> list[tuple[int, bytes]]:
        return [(int(line.startswith(b"{")), line) for line in self.path.read_bytes().splitlines()]

    def close(self) -> None:
        self._out.close()


class FileHarness(SinkHarness):
    """Form `n` appends raw lines to `out/form<n>.log`. Down: a folder stands where the file
    goes (opening it fails, whoever runs the tests, root included)."""

    kind = "file"
    fault = True

    def path(self, form: int) -> Path:
        return self.work / "out" / f"form{form}.log"

    def sink_toml(self, form: int, linger: bool = False) -> str:
        return f'type = "file"\npath = "{self.path(form)}"\nformat = "raw"\n'

    def arrived(self) -> list[tuple[int, bytes]]:
        out = []
        for form in (0, 1):
            if self.path(form).is_file():
                out += [(form, line) for line in self.path(form).read_bytes().splitlines()]
        return out

    def down(self) -> None:
        self.path(0).mkdir()

    def up(self) -> None:
        self.path(0).rmdir()


class HttpHarness(SinkHarness):
    """`HttpTestServer`; form `n` posts ndjson of raw lines to `/form<n>`. Every request is
    answered after a short delay (a write in flight is seen). Down: 503 to every request."""

    kind = "http"
    fault = True

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.broken = False
        self.server = HttpTestServer(respond=self._respond)

    def _respond(self, _r: Received) -> Reply:
        return Reply(503, b"down") if self.broken else Reply(200, hang=0.02)

    def sink_toml(self, form: int, linger: bool = False) -> str:
        return (f'type = "http"\nurl = "{self.server.url(f"/form{form}")}"\nformat = "raw"\n'
                f"batch_timeout = {5 if linger else 0.05}\nbatch_max_entries = 100000\n"
                "retry_max_backoff = 0.3\n")

    def arrived(self) -> list[tuple[int, bytes]]:
        out = []
        for r in list(self.server.received):
            if 200 <= r.status < 300:
                form = int(r.path.removeprefix("/form"))
                out += [(form, line) for line in r.body.splitlines()]
        return out

    def down(self) -> None:
        self.broken = True

    def up(self) -> None:
        self.broken = False

    def close(self) -> None:
        self.server.stop()


class SyslogReceiver:
    """A syslog receiver over TCP on 127.0.0.1 (RFC 6587 octet counting), recording every
    message; it can stop listening (connections refused) and listen again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                buf = b""
                while chunk := self.request.recv(65536):
                    buf += chunk
                    while b" " in buf:
                        size, _, rest = buf.partition(b" ")
                        if len(rest) < int(size):
                            break
                        with owner._lock:
                            owner.messages.append(rest[: int(size)])
                        buf = rest[int(size):]

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._handler, self._server_class = Handler, Server

    def start(self) -> None:
        self._server = self._server_class(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[bytes]:
        with self._lock:
            return list(self.messages)


class SyslogHarness(SinkHarness):
    """`SyslogReceiver` (TCP); form `n` sends with APP-NAME `form<n>`. Down: not listening.
    Plain syslog has no acknowledgement: a write is done once the receiver's kernel accepted
    its bytes (`logproc.sinks.syslog.transport`), before the receiver has read them."""

    kind = "syslog"
    fault = True
    in_transit = 3.0

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.receiver = SyslogReceiver()
        self.receiver.start()

    def sink_toml(self, form: int, linger: bool = False) -> str:
        return (f'type = "syslog"\naddress = "tcp://127.0.0.1:{self.receiver.port}"\n'
                f'app_name = "form{form}"\n')

    def arrived(self) -> list[tuple[int, bytes]]:
        out = []
        for msg in self.receiver.received():
            app = msg.split(b" ", 4)[3]  # <PRI>1 TIMESTAMP HOSTNAME APP-NAME ...
            out.append((int(app.removeprefix(b"form")), msg))
        return out

    def down(self) -> None:
        self.receiver.stop()

    def up(self) -> None:
        self.receiver.start()

    def close(self) -> None:
        self.receiver.stop()


class OtlpHarness(SinkHarness):
    """`HttpTestServer` as an OTLP receiver (`tests.otlp_support`); form `n` sends
    http/protobuf to `/form<n>`; an entry is a record's body. Every request is answered
    after a short delay (a write in flight is seen). Down: 503 to every request."""

    kind = "otlp"
    fault = True

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.broken = False
        self.server = HttpTestServer(respond=self._respond)

    def _respond(self, _r: Received) -> Reply:
        return Reply(503, b"down") if self.broken else Reply(200, hang=0.02)

    def sink_toml(self, form: int, linger: bool = False) -> str:
        return (f'type = "otlp"\nendpoint = "{self.server.url(f"/form{form}")}"\n'
                f"batch_timeout = {5 if linger else 0.05}\nbatch_max_entries = 100000\n"
                "retry_max_backoff = 0.3\n")

    def arrived(self) -> list[tuple[int, bytes]]:
        from tests.otlp_support import decode

        out = []
        for r in list(self.server.received):
            if 200 <= r.status < 300:
                form = int(r.path.removeprefix("/form"))
                out += [(form, rec.body.string_value.encode()) for rl in decode(r).resource_logs
                        for sl in rl.scope_logs for rec in sl.log_records]
        return out

    def down(self) -> None:
        self.broken = True

    def up(self) -> None:
        self.broken = False

    def close(self) -> None:
        self.server.stop()


SINK_HARNESSES: dict[str, type[SinkHarness]] = {
    "stdout": StdoutHarness,
    "file": FileHarness,
    "http": HttpHarness,
    "syslog": SyslogHarness,
    "kafka": KafkaHarness,  # a duck-typed SinkHarness (see tests.kafka_support)
    "otlp": OtlpHarness,
    "nats": NatsHarness,  # a duck-typed SinkHarness (see tests.nats_support)
}

#: Sink kinds with no fault injector, and why (the retry contract cannot be driven for them).
NO_FAULT = {
    "stdout": "standard output is the daemon's own descriptor, set at start: nothing outside can "
              "make a write fail and then succeed (a full pipe stalls, it does not fail)",
}


# -- sources ---------------------------------------------------------------------------
class SourceHarness:
    """A source kind's input; see the module doc."""

    kind: ClassVar[str]
    positions: ClassVar[bool] = True  # False: a receiver, nothing to resume from

    def __init__(self, work: Path) -> None:
        self.work = work

    def source_toml(self, i: int) -> str:
        """The keys of `[sources.<name>]` (with `type`) of instance `i`."""
        raise NotImplementedError

    def write(self, i: int, data: bytes) -> None:
        """Feed `data` (numbered lines) into instance `i`, one entry per line."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class FileSourceHarness(SourceHarness):
    """Instance `i` tails `logs/in<i>.log`."""

    kind = "file"

    def source_toml(self, i: int) -> str:
        return f'type = "file"\npaths = ["{self.work}/logs/in{i}.log"]\n'

    def write(self, i: int, data: bytes) -> None:
        fd = os.open(self.work / "logs" / f"in{i}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


class JournaldSourceHarness(SourceHarness):
    """Instance `i` reads the journal folder `journal<i>` (`directory`), written by
    systemd-journal-remote from export format: one journal entry per line, its MESSAGE."""

    kind = "journald"
    JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
    BOOT_ID = "0123456789abcdef0123456789abcdef"

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        if not os.access(self.JOURNAL_REMOTE, os.X_OK):
            pytest.fail("systemd-journal-remote is missing (test.sh installs systemd-journal-remote)")
        self.written = 0
        self.t0 = int(time.time() * 1e6)

    def folder(self, i: int) -> Path:
        path = self.work / f"journal{i}"
        path.mkdir(exist_ok=True)
        return path

    def source_toml(self, i: int) -> str:
        return f'type = "journald"\ndirectory = "{self.folder(i)}"\nstart_at = "beginning"\n'

    def write(self, i: int, data: bytes) -> None:
        export = []
        for line in data.splitlines():
            self.written += 1
            export.append(b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n"
                          b"_HOSTNAME=contract\nMESSAGE=%s\n\n"
                          % (self.t0 + self.written, self.written, self.BOOT_ID.encode(), line))
        subprocess.run([self.JOURNAL_REMOTE, "-o", str(self.folder(i) / "remote.journal"), "-"],
                       input=b"".join(export), capture_output=True, check=True, timeout=10)


class SyslogSourceHarness(SourceHarness):
    """Instance `i` listens on its own TCP port; each line is sent as one RFC 5424 message,
    octet-counted, on one connection per write."""

    kind = "syslog"
    positions = False

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.ports = [free_port(), free_port()]

    def source_toml(self, i: int) -> str:
        return f'type = "syslog"\nlisten = ["tcp://127.0.0.1:{self.ports[i]}"]\n'

    def write(self, i: int, data: bytes) -> None:
        frames = []
        for line in data.splitlines():
            msg = b"<14>1 2024-01-01T00:00:00Z contract app - - - " + line
            frames.append(b"%d %b" % (len(msg), msg))
        with socket.create_connection(("127.0.0.1", self.ports[i]), timeout=5) as s:
            s.sendall(b"".join(frames))


SOURCE_HARNESSES: dict[str, type[SourceHarness]] = {
    "file": FileSourceHarness,
    "journald": JournaldSourceHarness,
    "syslog": SyslogSourceHarness,
}
