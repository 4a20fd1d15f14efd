"""The journald source against real journal files (written by systemd-journal-remote, read
by journalctl, see tests/journal_support.py) and the real `logproc` command: fields,
exactly-once across SIGTERM, no loss across SIGKILL and a killed journalctl, start_at,
filters, a vacuumed checkpoint cursor, and a machine with no journal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logproc.testing import Daemon, check_sequence, logproc_cmd, run_once, wait_for
from tests.journal_support import JOURNAL_REMOTE, Journal, numbered_entries

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30),
              pytest.mark.skipif(not os.access(JOURNAL_REMOTE, os.X_OK), reason="no systemd-journal-remote")]

LEVELS = ["critical", "critical", "critical", "error", "warning", "notice", "info", "debug"]


@pytest.fixture(name="journal")
def fixture_journal(work: Path) -> Journal:
    return Journal(work / "journal")


def _config(write_config, start_at: str = "beginning", extra: str = "", daemon: str = "") -> Path:
    return write_config(daemon + f"""
        [sources.j]
        type = "journald"
        directory = "{{work}}/journal"
        start_at = "{start_at}"
        {extra}

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.jsonl"
        format = "json"
        """)


def _out(work: Path) -> bytes:
    path = work / "out" / "all.jsonl"
    return path.read_bytes() if path.exists() else b""


def _count(work: Path) -> int:
    return _out(work).count(b"\n")


def _entries(work: Path) -> list[dict]:
    return [json.loads(line) for line in _out(work).splitlines()]


def _journalctl_children(pid: int) -> list[int]:
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            continue
    out = []
    for kid in kids:
        try:
            with open(f"/proc/{kid}/comm") as f:
                if f.read().strip() == "journalctl":
                    out.append(kid)
        except FileNotFoundError:
            continue
    return out


def test_once_reads_every_entry_with_its_fields(work, write_config, journal):
    """`run --once` from the beginning: exactly every entry, fields mapped, a multi-line and a
    binary MESSAGE kept whole (one entry each)."""
    journal.append(numbered_entries(0, 300))
    journal.append([{"MESSAGE": b"seq=300 first line\nsecond line", "PRIORITY": "3", "_SYSTEMD_UNIT": "app.service"},
                    {"MESSAGE": b"seq=301 bytes \xff\xfe end\x01", "PRIORITY": "4", "_SYSTEMD_UNIT": "app.service"}])
    proc = run_once(_config(write_config), timeout=25)
    assert proc.returncode == 0, proc.stderr.decode()
    check_sequence(_out(work), 302)
    entries = _entries(work)
    assert len(entries) == 302
    for n, entry in enumerate(entries[:300]):
        assert entry["message"] == f"seq={n} line {n:06d}"
        assert entry["level"] == LEVELS[n % 8]
        micros = journal.realtimes[n]
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
        assert datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")) == when
        assert entry["hostname"] == "box1"
        assert entry["unit"] == "app.service"
        assert entry["pid"] == 1000 + n % 7
        assert entry["app_name"] == "app"
        assert entry["_transport"] == "journal"
        assert entry["code_file"] == "app.c"
        assert (entry["source"], entry["file"], entry["host"]) == ("j", "journald", socket.gethostname())
        assert not {"__cursor", "__monotonic_timestamp", "__realtime_timestamp", "priority"} & entry.keys()
        assert list(entry)[:3] == ["timestamp", "level", "message"]
        assert list(entry)[-3:] == ["source", "file", "host"]
    assert entries[300]["message"] == "seq=300 first line\nsecond line"
    assert entries[300]["level"] == "error"
    assert entries[301]["message"] == "seq=301 bytes \ufffd\ufffd end\x01"
    assert entries[301]["level"] == "warning"
    # a second run has nothing new to send
    proc = run_once(_config(write_config), timeout=25)
    assert proc.returncode == 0, proc.stderr.decode()
    assert _count(work) == 302


def test_sigterm_and_restart_deliver_exactly_once(work, write_config, journal):
    """Entries appended while running arrive; after SIGTERM, entries appended meanwhile come
    with the restart: every number once."""
    config = _config(write_config)
    journal.append(numbered_entries(0, 100))
    with Daemon(config, log_path=work / "d1.log") as d:
        d.wait_started()
        for start in range(100, 400, 100):
            journal.append(numbered_entries(start, 100))
        wait_for(lambda: _count(work) >= 400, 15, what="400 entries")
        assert d.stop() == 0, d.log()
    journal.append(numbered_entries(400, 150))
    with Daemon(config, log_path=work / "d2.log") as d:
        d.wait_started()
        journal.append(numbered_entries(550, 50))
        wait_for(lambda: _count(work) >= 600, 15, what="600 entries")
        assert d.stop() == 0, d.log()
    report = check_sequence(_out(work), 600)
    assert report.received == 600


def test_sigkill_and_restart_lose_nothing(work, write_config, journal):
    """SIGKILL while entries flow, more appended while it is down: nothing missing after the
    restart (only the unacknowledged tail may come twice)."""
    config = _config(write_config)
    journal.append(numbered_entries(0, 2000))
    with Daemon(config, log_path=work / "d1.log") as d:
        d.wait_started()
        wait_for(lambda: _count(work) >= 200, 15, 0.005, what="some entries delivered")
        d.signal(signal.SIGKILL)
        assert d.wait(10) == -signal.SIGKILL
    delivered_before = _count(work)
    journal.append(numbered_entries(2000, 500))
    with Daemon(config, log_path=work / "d2.log") as d:
        d.wait_started()
        wait_for(lambda: not check_sequence(_out(work), 2500, allow_missing=2500, allow_dups=2500).missing,
                 15, 0.1, what="every entry")
        assert d.stop() == 0, d.log()
    report = check_sequence(_out(work), 2500, allow_dups=2500)
    assert not report.missing
    assert report.duplicates <= delivered_before  # at most what the first run had sent


def test_start_at_end_reads_only_what_comes_after_start_and_keeps_its_place(work, write_config, journal):
    """start_at = "end": the entries present at the first start are skipped; those appended
    while running arrive, and so do those appended while stopped (the end was recorded)."""
    config = _config(write_config, start_at="end")
    journal.append(numbered_entries(0, 50))
    with Daemon(config, log_path=work / "d1.log") as d:
        d.wait_started()
        journal.append(numbered_entries(50, 50))
        wait_for(lambda: _count(work) >= 50, 15, what="50 entries")
        assert d.stop() == 0, d.log()
    check_sequence(_out(work), range(50, 100))
    journal.append(numbered_entries(100, 20))
    proc = run_once(config, timeout=25)
    assert proc.returncode == 0, proc.stderr.decode()
    check_sequence(_out(work), range(50, 120))


def test_units_and_match_select_entries(work, write_config, journal):
    """units and match: only entries of the unit with every field matching; a unit name
    without a suffix is a service."""
    journal.append(numbered_entries(0, 40, unit="a.service", transport="kernel"))
    journal.append(numbered_entries(40, 40, unit="b.service", transport="kernel"))
    journal.append(numbered_entries(80, 40, unit="a.service", transport="syslog"))
    config = write_config("""
        [sources.ak]
        type = "journald"
        directory = "{work}/journal"
        start_at = "beginning"
        units = ["a.service"]
        match = { _TRANSPORT = "kernel" }

        [sources.b]
        type = "journald"
        directory = "{work}/journal"
        start_at = "beginning"
        units = ["b"]

        [sinks.out]
        type = "file"
        path = "{work}/out/all.jsonl"
        format = "json"
        """)
    proc = run_once(config, timeout=25)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = _out(work).splitlines()
    check_sequence([x for x in lines if b'"source":"ak"' in x], range(40))
    check_sequence([x for x in lines if b'"source":"b"' in x], range(40, 80))
    assert len(lines) == 80


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lost(port: int) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        body = r.read().decode()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "logproc_source_entries_lost_total" and \
                    sample.labels == {"source": "j", "reason": "vacuumed"}:
                return float(sample.value)
    return None


def test_vacuumed_cursor_reads_from_the_oldest_entry_and_counts_the_loss(work, write_config, journal):
    """The checkpoint's entry is gone (journal files deleted, new ones written while
    stopped): reading starts at the oldest entry, with a warning and the loss counted."""
    port = _free_port()
    daemon = (f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = "127.0.0.1:{port}"\n'
              "watch_config = false\ncheckpoint_interval = 0.2\n")
    config = _config(write_config, daemon=daemon)
    journal.append(numbered_entries(0, 100))
    with Daemon(config, log_path=work / "d1.log") as d:
        d.wait_started()
        wait_for(lambda: _count(work) >= 100, 15, what="100 entries")
        assert d.stop() == 0, d.log()
    journal.replace()
    journal.append(numbered_entries(100, 50))
    with Daemon(config, log_path=work / "d2.log") as d:
        d.wait_started()
        wait_for(lambda: _count(work) >= 150, 15, what="150 entries")
        assert wait_for(lambda: _lost(port), 10, what="the loss in /metrics") == 1
        assert d.stop() == 0, d.log()
        log = d.log()
    check_sequence(_out(work), 150)
    warnings = [json.loads(x) for x in log.splitlines() if "no longer holds" in x]
    assert len(warnings) == 1, log
    assert warnings[0]["level"] == "warning" and warnings[0]["source"] == "j"
    assert warnings[0]["lost_entries"] == 1


def test_killed_journalctl_is_restarted_without_loss_or_duplicates(work, write_config, journal):
    """journalctl killed under the running daemon: a warning, a new child 1 s later that
    resumes after the last entry queued: every number exactly once."""
    config = _config(write_config)
    journal.append(numbered_entries(0, 100))
    with Daemon(config, log_path=work / "d1.log") as d:
        d.wait_started()
        wait_for(lambda: _count(work) >= 100, 15, what="100 entries")
        children = wait_for(lambda: _journalctl_children(d.pid), 5, what="the journalctl child")
        assert len(children) == 1
        os.kill(children[0], signal.SIGKILL)
        journal.append(numbered_entries(100, 100))
        wait_for(lambda: "journalctl ended; restarting it" in d.log(), 5, what="the restart warning")
        wait_for(lambda: _count(work) >= 200, 15, what="200 entries")
        again = _journalctl_children(d.pid)
        assert len(again) == 1 and again != children
        assert d.stop() == 0, d.log()
    report = check_sequence(_out(work), 200)
    assert report.received == 200


def test_no_journal_on_this_machine_idles_with_one_line(work, write_config):
    """No directory and no system journal (this container): one line, idle, not an error."""
    if any(Path(d).is_dir() and any(Path(d).rglob("*.journal")) for d in ("/run/log/journal", "/var/log/journal")):
        pytest.skip("this machine has a journal")
    config = write_config("""
        [sources.journal]
        type = "journald"

        [sinks.out]
        type = "file"
        path = "{work}/out/all.jsonl"
        format = "json"
        """)
    proc = run_once(config, timeout=25)
    assert proc.returncode == 0, proc.stderr.decode()
    line = "no systemd journal on this machine; source 'journal' stays idle"
    assert proc.stderr.decode().count(line) == 1
    with Daemon(config, log_path=work / "d.log") as d:
        d.wait_started()
        assert d.stop() == 0, d.log()
        assert d.log().count(line) == 1


def test_missing_directory_is_a_config_error(work, write_config):
    config = write_config("""
        [sources.j]
        type = "journald"
        directory = "{work}/nowhere"

        [sinks.out]
        type = "stdout"
        """)
    proc = subprocess.run([*logproc_cmd(), "check", "-c", str(config)], capture_output=True, timeout=20,
                          check=False)
    assert proc.returncode == 2
    assert "sources.j.directory: no such folder" in proc.stderr.decode() + proc.stdout.decode()
