"""Reload through the real command: SIGHUP and editor-style saves with `watch_config`,
applied by difference under load with the numbered-line oracle; an invalid config is
refused and the old one keeps delivering; systemd hears RELOADING=1 then READY=1."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import orjson
import pytest

from logproc.testing import Daemon, LogWriter, NotifySocket, check_sequence, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

CONFIG = """
[daemon]
state_dir = "{work}/state"
metrics_address = ""
watch_config = {watch}
checkpoint_interval = 0.2

[sources.keep]
paths = ["{work}/logs/keep.log"]

[sources.{other}]
paths = ["{work}/logs/{other}.log"]

[sinks.out]
type = "file"
path = "{work}/out/all.log"
format = "{fmt}"
"""
# before the reload: `gone` is read, raw lines; after: `gone` removed, `new` added, JSON
V1 = {"other": "gone", "fmt": "raw"}
V2 = {"other": "new", "fmt": "json"}


def config(work: Path, version: dict[str, str], watch: bool) -> str:
    return CONFIG.format(work=work, watch="true" if watch else "false", **version)


def out_lines(work: Path) -> list[bytes]:
    path = work / "out" / "all.log"
    return path.read_bytes().splitlines() if path.exists() else []


def seqs_in(lines: list[bytes], tag: bytes) -> list[int]:
    out = []
    for line in lines:
        text = orjson.loads(line)["message"].encode() if line.startswith(b"{") else line
        if b" " + tag + b" " in text + b" ":
            out.append(int(text.split(b" ", 1)[0][4:]))
    return out


class Writer(threading.Thread):
    """Appends numbered lines to keep.log in blocks until told to stop."""

    def __init__(self, path: Path, total: int) -> None:
        super().__init__(daemon=True)
        self.w = LogWriter(path)
        self.total = total
        self.written = 0
        self.halfway = threading.Event()

    def run(self) -> None:
        while self.written < self.total:
            n = min(1000, self.total - self.written)
            self.w.write(numbered(self.written, n, "keep", pad=20))
            self.written += n
            if self.written >= self.total // 2:
                self.halfway.set()


def reload_under_load(work: Path, trigger, watch: bool) -> None:
    cfg = work / "logproc.toml"
    cfg.write_text(config(work, V1, watch))
    gone = LogWriter(work / "logs" / "gone.log")
    gone.write(numbered(1_000_000, 20_000, "gone", pad=20))
    writer = Writer(work / "logs" / "keep.log", 100_000)
    with Daemon(cfg) as d:
        d.wait_started()
        writer.start()
        writer.halfway.wait(30)
        trigger(d, cfg)
        wait_for(lambda: '"reloaded"' in d.log() or "event=reloaded" in d.log(), 30, what="the reload")
        new = LogWriter(work / "logs" / "new.log")
        new.write(numbered(2_000_000, 5_000, "new", pad=20))
        gone.write(numbered(1_020_000, 100, "gone", pad=20))  # after the reload: not read
        writer.join(60)
        marker = LogWriter(work / "logs" / "keep.log")
        marker.write(b"seq=100000 keep after-reload\n")
        wait_for(lambda: len(seqs_in(out_lines(work), b"keep")) >= 100_001
                 and len(seqs_in(out_lines(work), b"new")) >= 5_000, 60, what="every line")
        assert d.stop() == 0
        log = d.log()
    lines = out_lines(work)
    keep, gone_seen, new_seen = seqs_in(lines, b"keep"), seqs_in(lines, b"gone"), seqs_in(lines, b"new")
    check_sequence(b"".join(b"seq=%d\n" % n for n in keep), 100_001)
    assert sorted(gone_seen) == list(range(1_000_000, 1_020_000)), "removed source: exactly its lines before the reload"
    check_sequence(b"".join(b"seq=%d\n" % n for n in new_seen), range(2_000_000, 2_005_000))
    # the new format after the reload: the marker and the new source's lines are JSON
    assert any(line.startswith(b"{") and b"after-reload" in line for line in lines)
    assert all(line.startswith(b"{") for line in lines if b" new " in line)
    # and the old one before it: the removed source was written raw
    assert all(not line.startswith(b"{") for line in lines if b" gone " in line)
    assert "invalid config" not in log


def sighup(d: Daemon, cfg: Path) -> None:
    cfg.write_text(config(cfg.parent, V2, False))
    d.signal(signal.SIGHUP)


def editor_save(d: Daemon, cfg: Path) -> None:
    tmp = cfg.with_name(".logproc.toml.swp")
    tmp.write_text(config(cfg.parent, V2, True))
    os.replace(tmp, cfg)  # what vim and most editors do: a new inode under the name


def test_sighup_under_load_adds_removes_and_changes_by_difference(work):
    reload_under_load(work, sighup, watch=False)


def test_editor_style_atomic_save_with_watch_config(work):
    reload_under_load(work, editor_save, watch=True)


def test_invalid_config_is_refused_and_the_old_one_keeps_delivering(work):
    cfg = work / "logproc.toml"
    cfg.write_text(config(work, V1, False))
    w = LogWriter(work / "logs" / "keep.log")
    w.write(numbered(0, 100, "keep"))
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: len(out_lines(work)) == 100, 20, what="the first lines")
        cfg.write_text(config(work, V1, False).replace('format = "raw"', 'format = "rwa"')
                       .replace("[sources.gone]", "[sources.gone]\nparser = \"jsn\""))
        d.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in d.log(), 10, what="the refusal")
        problems = [orjson.loads(line).get("problem", "") for line in d.log().splitlines()
                    if line.startswith("{")]
        assert any(p.endswith('logproc.toml:18: sinks.out.format: invalid value "rwa"; expected one of: '
                              'json, logfmt, text, raw; did you mean "raw"?') for p in problems), problems
        assert any(p.endswith('logproc.toml:12: sources.gone.parser: invalid value "jsn"; expected one of: '
                              'plain, json, logfmt, regex, syslog, combined, common; did you mean "json"?')
                   for p in problems), problems
        w.write(numbered(100, 100, "keep"))
        wait_for(lambda: len(out_lines(work)) == 200, 20, what="lines after the refusal")
        assert d.stop() == 0
    lines = out_lines(work)
    assert not any(line.startswith(b"{") for line in lines), "the old raw format is still used"
    check_sequence(b"\n".join(lines) + b"\n", 200)


def test_reload_notifies_systemd_reloading_then_ready(work):
    cfg = work / "logproc.toml"
    cfg.write_text(config(work, V1, False))
    notify = NotifySocket(work / "notify.sock")
    with Daemon(cfg, env=notify.env) as d:
        d.wait_started()
        wait_for(lambda: "READY=1\nSTATUS=watching" in notify.messages(), 10, what="READY=1")
        cfg.write_text(config(work, V2, False))
        d.signal(signal.SIGHUP)
        wait_for(lambda: notify.kinds().count("READY") == 2, 15, what="READY=1 after the reload")
        assert d.stop() == 0
    got = [m for m in notify.messages() if not m.startswith("STATUS=")]
    assert [m.split("\n")[0] for m in got] == ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]
    key, usec = got[1].split("\n")
    assert key == "RELOADING=1" and usec.startswith("MONOTONIC_USEC=") and int(usec[15:]) > 0
    assert got[2].startswith("READY=1\nSTATUS=")
    notify.close()
