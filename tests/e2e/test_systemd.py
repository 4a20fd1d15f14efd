"""systemd integration through the real command, with a datagram socket the test binds as
`NOTIFY_SOCKET`: the exact notification sequence, watchdog pings at half `WATCHDOG_USEC`
while the pipeline moves, withheld while a sink is wedged; and the shipped unit verified
by `systemd-analyze verify`, its `systemd-analyze security` exposure at most 1.0, and no
`ReadWritePaths=` that would fail the start (226/NAMESPACE) on a fresh install."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logproc.testing import Daemon, LogWriter, NotifySocket, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
REPO = Path(__file__).resolve().parents[2]


CONFIG = """
[sources.app]
paths = ["{work}/logs/*.log"]

[sinks.out]
type = "{sink}"
{path}
format = "raw"
"""


def file_config(write_config) -> Path:
    return write_config(CONFIG.format(work="{work}", sink="file", path='path = "{work}/out/all.log"'))


def test_start_and_stop_send_ready_status_and_stopping(work, write_config):
    n = NotifySocket(str(work / "notify.sock"))
    LogWriter(work / "logs" / "app.log").write(numbered(0, 10))
    with Daemon(file_config(write_config), env=n.env) as d:
        d.wait_started()
        wait_for(lambda: "READY=1\nSTATUS=watching" in n.messages(), 10, what="READY=1")
        assert d.stop() == 0
    messages = n.messages()
    assert messages[0] == "READY=1\nSTATUS=watching"
    assert messages[-1] == "STOPPING=1\nSTATUS=draining"
    assert set(n.kinds()) <= {"READY", "STATUS", "STOPPING"}  # no watchdog asked for, none sent
    n.close()


def test_abstract_socket_name(work, write_config):
    name = f"@logproc-test-{os.getpid()}-{time.monotonic_ns()}"
    n = NotifySocket(name)
    with Daemon(file_config(write_config), env=n.env) as d:
        d.wait_started()
        wait_for(lambda: "READY=1\nSTATUS=watching" in n.messages(), 10, what="READY=1 on an abstract socket")
        assert d.stop() == 0
    assert n.messages()[-1] == "STOPPING=1\nSTATUS=draining"
    n.close()


def test_watchdog_pings_at_half_the_interval(work, write_config):
    n = NotifySocket(str(work / "notify.sock"))
    env = {**n.env, "WATCHDOG_USEC": "600000"}  # pings every 0.3 s
    with Daemon(file_config(write_config), env=env) as d:
        d.wait_started()
        wait_for(lambda: len(n.pings()) >= 8, 15, what="eight watchdog pings")
        assert d.stop() == 0
    pings = n.pings()
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(0.2 <= g <= 0.6 for g in gaps), gaps
    n.close()


def test_watchdog_for_another_pid_is_not_ours(work, write_config):
    n = NotifySocket(str(work / "notify.sock"))
    env = {**n.env, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}
    with Daemon(file_config(write_config), env=env) as d:
        d.wait_started()
        wait_for(lambda: "READY=1\nSTATUS=watching" in n.messages(), 10, what="READY=1")
        time_ready = time.monotonic()
        wait_for(lambda: time.monotonic() - time_ready > 1.0, 5, what="a second to pass")
        assert d.stop() == 0
    assert n.pings() == []
    n.close()


def test_watchdog_pings_stop_while_a_sink_is_wedged_and_resume_after(work, write_config):
    """A stdout sink whose reader stops reading: the sink thread is stuck in one write past
    the stall threshold, consumers wait on it: pings stop (logged); reading again resumes them."""
    n = NotifySocket(str(work / "notify.sock"))
    cfg = write_config(CONFIG.format(work="{work}", sink="stdout", path=""))
    env = {**n.env, "WATCHDOG_USEC": "400000", "LOGPROC_STALL_SECONDS": "1"}
    w = LogWriter(work / "logs" / "app.log")
    with Daemon(cfg, env=env, stdout=subprocess.PIPE) as d:
        d.wait_started()
        wait_for(lambda: len(n.pings()) >= 3, 10, what="pings while healthy")
        w.write(numbered(0, 20000, pad=40))  # ~1 MiB: far more than the pipe holds
        wait_for(lambda: "withholding the systemd watchdog ping" in d.log(), 15,
                 what="the stuck sink to be noticed")
        stopped_at = n.pings()[-1]
        wait_for(lambda: time.monotonic() - stopped_at > 1.5, 5, what="time without pings")
        assert n.pings()[-1] == stopped_at, "pinged while the sink was wedged"
        assert "sink 'out' has been stuck in one write" in d.log()
        assert d.proc.stdout is not None
        out = b""
        while out.count(b"\n") < 20000:
            out += os.read(d.proc.stdout.fileno(), 1 << 20)
        wait_for(lambda: n.pings()[-1] > stopped_at, 10, what="pings to resume")
        assert "watchdog pings resume" in d.log()
        d.signal(signal.SIGTERM)
        assert d.wait(20) == 0
    w.close()
    n.close()


def shipped_unit(tmp_path: Path) -> Path:
    """The shipped unit with ExecStart= (and ExecStartPre=) pointed at this checkout's command:
    systemd-analyze checks that the binary exists."""
    unit = tmp_path / "logproc.service"
    text = (REPO / "systemd" / "logproc.service").read_text()
    exe = (os.environ.get("LOGPROC_CMD") or str(Path(sys.executable).with_name("logproc"))).split()[0]
    unit.write_text(text.replace("/opt/logproc/bin/logproc", exe))
    return unit


def test_shipped_unit_passes_systemd_analyze_verify(tmp_path):
    unit = shipped_unit(tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                          timeout=30, check=False)
    problems = [ln for ln in (done.stdout + done.stderr).splitlines()
                if "logproc.service" in ln and "Failed to" not in ln]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


MAX_EXPOSURE = 1.0


def test_shipped_unit_exposure_is_at_most_one(tmp_path):
    """`systemd-analyze security --offline=true`: the overall exposure it prints (rounded up
    to a tenth) is at most 1.0; a failure lists the items left exposed."""
    unit = shipped_unit(tmp_path)
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                          capture_output=True, text=True, timeout=60, check=False)
    out = done.stdout + done.stderr
    m = re.search(r"Overall exposure level for logproc\.service: (\d+\.\d)", out)
    assert done.returncode == 0 and m, out
    exposed = "\n".join(ln for ln in out.splitlines() if ln.startswith("✗"))
    assert float(m.group(1)) <= MAX_EXPOSURE, f"exposure {m.group(1)} > {MAX_EXPOSURE}:\n{exposed}"


# where each *Directory= setting creates its folders (systemd.exec(5), system services)
DIRECTORY_ROOTS = {"RuntimeDirectory": "/run", "StateDirectory": "/var/lib", "CacheDirectory": "/var/cache",
                   "LogsDirectory": "/var/log", "ConfigurationDirectory": "/etc"}


def uncreated_read_write_paths(text: str) -> list[str]:
    """The `ReadWritePaths=` entries of a unit's [Service] that are neither optional (`-`
    prefix) nor a folder, or inside one, that a `*Directory=` setting creates: systemd fails
    such a unit with 226/NAMESPACE when the path is missing, as on a fresh install."""
    section, created, paths = "", [], []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if section != "[Service]":
            continue
        if key in DIRECTORY_ROOTS:  # an empty assignment resets the list, as in systemd
            created = [] if not value.strip() else created + [
                f"{DIRECTORY_ROOTS[key]}/{name.split(':')[0]}" for name in value.split()]
        elif key == "ReadWritePaths":
            paths = [] if not value.strip() else paths + value.split()
    required = [p.lstrip("+") for p in paths if "-" not in p[:len(p) - len(p.lstrip("-+"))]]
    return [p for p in required if not any(p == c or p.startswith(c + "/") for c in created)]


def test_no_read_write_path_can_fail_the_start():
    text = (REPO / "systemd" / "logproc.service").read_text()
    assert uncreated_read_write_paths(text) == []
    # the check catches what the unit shipped before: /var/log/logproc, created by nothing
    before = "[Service]\nStateDirectory=logproc\nReadWritePaths=/var/lib/logproc /var/log/logproc\n"
    assert uncreated_read_write_paths(before) == ["/var/log/logproc"]
    assert uncreated_read_write_paths(before.replace(" /var/log", " -/var/log")) == []
    assert uncreated_read_write_paths(before.replace(" /var/log", " +/var/log")) == ["/var/log/logproc"]
    assert uncreated_read_write_paths(before + "LogsDirectory=logproc\n") == []
