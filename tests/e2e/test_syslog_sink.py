"""The syslog sink against a real rsyslogd (Debian package `rsyslog`, installed by test.sh).

Each test starts its own unprivileged-port rsyslogd on 127.0.0.1 (`-n`: foreground; no
imuxsock/imklog, so no /dev/log or kernel log is needed), which writes every message it
receives to a file as `PRI|FACILITY|SEVERITY|APP-NAME|MSG`. rsyslog escapes control
characters on receipt, so a message that kept its newline shows `#012` on one line.
Lines are numbered (`seq=<n>`) and checked with the numbered-line oracle; each carries a
level chosen from its number, so facility, severity and app name are checked per line.

Delivery over TCP is at-least-once: after the receiver restarts, the write that failed is
sent again whole, so duplicates are allowed there (and reported), missing lines never.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, run_once, wait_for

pytestmark = pytest.mark.e2e

RSYSLOGD = "/usr/sbin/rsyslogd"
LEVELS = ["critical", "error", "warning", "notice", "info", "debug", "trace", None, "bogus"]
SEVERITY_TEXT = {"critical": "crit", "error": "err", "warning": "warning", "notice": "notice",
                 "info": "info", "debug": "debug", "trace": "debug", None: "info", "bogus": "info"}
SEVERITY_CODE = {"crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rsyslog:
    """A foreground rsyslogd listening on 127.0.0.1:`port` (`udp` or `tcp`)."""

    def __init__(self, folder: Path, proto: str, port: int) -> None:
        self.folder, self.proto, self.port = folder, proto, port
        self.out = folder / "received.log"
        self.conf = folder / "rsyslog.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(exist_ok=True)
        module = "imudp" if proto == "udp" else "imtcp"
        extra = ' rcvbufSize="4m"' if proto == "udp" else ""
        self.conf.write_text(
            f'global(workDirectory="{folder}" maxMessageSize="64k")\n'
            f'module(load="{module}")\n'
            f'input(type="{module}" address="127.0.0.1" port="{port}"{extra})\n'
            'template(name="t" type="string" string="%pri%|%syslogfacility-text%|'
            '%syslogseverity-text%|%app-name%|%msg%\\n")\n'
            f'action(type="omfile" file="{self.out}" template="t")\n')

    def start(self) -> None:
        self.log = open(self.folder / "rsyslogd.stderr", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.folder / "pid")],
                                     stdout=self.log, stderr=self.log)
        probes = 0

        def ready() -> bool:  # a probe message made it through to the output file
            nonlocal probes
            assert self.proc is not None and self.proc.poll() is None, self.stderr()
            if self.out.exists() and b"|probe|" in self.out.read_bytes():
                return True
            probes += 1
            with contextlib.suppress(OSError):
                self.send_probe(f"<13>1 - - probe - - - ready {probes}".encode())
            return False

        wait_for(ready, 15, 0.1, what="rsyslogd to receive a probe")

    def send_probe(self, msg: bytes) -> None:
        """Send one message the way this receiver listens (a subclass may use TLS)."""
        if self.proto == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(msg, ("127.0.0.1", self.port))
        else:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"%d %b" % (len(msg), msg))

    def stderr(self) -> str:
        return (self.folder / "rsyslogd.stderr").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
            self.log.close()
        self.proc = None

    def records(self, app: str) -> list[list[str]]:
        """Every received message of `app` as [pri, facility, severity, app, msg]."""
        if not self.out.exists():
            return []
        rows = [line.split("|", 4) for line in self.out.read_text(errors="replace").splitlines()]
        return [r for r in rows if len(r) == 5 and r[3] == app]


@pytest.fixture(name="rsyslog")
def fixture_rsyslog(work: Path) -> Iterator[list[Rsyslog]]:
    if not os.access(RSYSLOGD, os.X_OK):
        pytest.skip("rsyslogd not installed (test.sh installs the Debian package rsyslog)")
    started: list[Rsyslog] = []
    yield started
    for r in started:
        r.stop(signal.SIGKILL)


def start_rsyslog(started: list[Rsyslog], work: Path, proto: str) -> Rsyslog:
    r = Rsyslog(work / "rsyslog", proto, free_port(socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM))
    started.append(r)
    r.start()
    return r


def json_lines(start: int, count: int, newline_every: int = 0) -> bytes:
    """JSON lines whose message carries `seq=<n>`; the level cycles through LEVELS (None: no
    level); every `newline_every`-th message has a newline inside."""
    out = []
    for n in range(start, start + count):
        rec: dict[str, str] = {"message": f"seq={n} line"}
        if newline_every and n % newline_every == 0:
            rec["message"] = f"seq={n} first\nsecond half"
        level = LEVELS[n % len(LEVELS)]
        if level is not None:
            rec["level"] = level
        out.append(json.dumps(rec))
    return ("\n".join(out) + "\n").encode()


def config(write_config, address: str, **keys: str | int) -> Path:
    """A config reading JSON lines from logs/*.log into one syslog sink with `keys`."""
    sink = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    return write_config(
        '[sources.app]\npaths = ["{work}/logs/*.log"]\nparser = "json"\n\n'
        f'[sinks.syslog]\ntype = "syslog"\naddress = "{address}"\n{sink}')


def check_records(rows: list[list[str]], total: int, facility: str, facility_code: int,
                  newline_every: int, newline_text: str, allow_dups: int = 0) -> None:
    """Every numbered line arrived, with facility, severity, PRI and one message per line."""
    msgs = [r[4].encode() for r in rows]
    check_sequence(msgs, total, allow_dups=allow_dups)
    for pri, fac, sev, _app, msg in rows:
        n = int(msg.split("seq=", 1)[1].split(" ", 1)[0])
        assert fac == facility, (fac, msg)
        assert sev == SEVERITY_TEXT[LEVELS[n % len(LEVELS)]], (sev, msg)
        assert int(pri) == facility_code * 8 + SEVERITY_CODE[sev], (pri, msg)
        if newline_every and n % newline_every == 0:
            assert msg.endswith(f"seq={n} first{newline_text}second half"), msg
        else:
            assert msg.endswith(f"seq={n} line"), msg


@pytest.mark.timeout(30)
def test_udp_rfc5424_every_line_with_facility_severity_and_app(work, write_config, rsyslog) -> None:
    r = start_rsyslog(rsyslog, work, "udp")
    total = 2000
    (work / "logs" / "a.log").write_bytes(json_lines(0, total, newline_every=97))
    cfg = config(write_config, f"udp://127.0.0.1:{r.port}", facility="local3", app_name="lp-udp")
    done = run_once(cfg, timeout=20)
    assert done.returncode == 0, done.stderr.decode()
    rows = wait_for(lambda: (rs := r.records("lp-udp")) and len(rs) >= total and rs, 15,
                    what="every datagram at rsyslogd")
    check_records(rows, total, "local3", 19, 97, "#012")


@pytest.mark.timeout(30)
def test_tcp_octet_counting_rfc3164_numeric_facility(work, write_config, rsyslog) -> None:
    r = start_rsyslog(rsyslog, work, "tcp")
    total = 5000
    (work / "logs" / "a.log").write_bytes(json_lines(0, total, newline_every=101))
    cfg = config(write_config, f"tcp://127.0.0.1:{r.port}", protocol="rfc3164", facility=20,
                 app_name="lp-tcp")
    done = run_once(cfg, timeout=20)
    assert done.returncode == 0, done.stderr.decode()
    rows = wait_for(lambda: (rs := r.records("lp-tcp")) and len(rs) >= total and rs, 15,
                    what="every message at rsyslogd")
    # RFC 3164: rsyslog keeps the space after "TAG:" in MSG
    assert all(row[4].startswith(" seq=") for row in rows)
    check_records(rows, total, "local4", 20, 101, "#012")


@pytest.mark.timeout(30)
def test_tcp_newline_framing_keeps_a_message_whole(work, write_config, rsyslog) -> None:
    """With newline framing an inner newline is sent as `\\n`: still one message."""
    r = start_rsyslog(rsyslog, work, "tcp")
    total = 3000
    (work / "logs" / "a.log").write_bytes(json_lines(0, total, newline_every=7))
    cfg = config(write_config, f"tcp://127.0.0.1:{r.port}", framing="newline", facility="daemon",
                 app_name="lp-nl")
    done = run_once(cfg, timeout=20)
    assert done.returncode == 0, done.stderr.decode()
    rows = wait_for(lambda: (rs := r.records("lp-nl")) and len(rs) >= total and rs, 15,
                    what="every message at rsyslogd")
    check_records(rows, total, "daemon", 3, 7, "\\n")


@pytest.mark.timeout(60)
def test_tcp_receiver_restart_loses_nothing(work, write_config, rsyslog) -> None:
    """rsyslogd is killed after the first half arrived and the second half is written while
    it is down; started again on the same port, it gets everything (duplicates allowed)."""
    r = start_rsyslog(rsyslog, work, "tcp")
    cfg = config(write_config, f"tcp://127.0.0.1:{r.port}", app_name="lp-restart")
    writer = LogWriter(work / "logs" / "a.log")
    half = 5000
    with Daemon(cfg, log_path=work / "daemon.log") as d:
        d.wait_started()
        writer.write(numbered(0, half, tag="before"))
        wait_for(lambda: len(r.records("lp-restart")) >= half, 20, what="the first half")
        r.stop(signal.SIGKILL)
        writer.write(numbered(half, half, tag="during"))
        wait_for(lambda: "sink write failed" in d.log(), 20, what="a failed write while rsyslogd is down")
        assert "closed the connection, reconnecting" in d.log()  # the dead socket was noticed
        r.start()
        rows = wait_for(lambda: (rs := r.records("lp-restart")) and len(rs) >= 2 * half and rs, 30,
                        what="every line after the restart")
        report = check_sequence([row[4].encode() for row in rows], 2 * half, allow_dups=2 * half)
        print(f"receiver restart: {report.summary()}")
        assert d.stop() == 0, d.log()
    writer.close()
    assert not report.missing
