"""A hostile pattern and a hostile line cannot hang the daemon (issue: "a user regex hangs
the daemon"): `(?P<x>(a+)+)b` against forty `a` used to run forever inside one batch, so
no other source was delivered, and with `workers = 0` neither SIGTERM nor `/metrics`
got an answer. Every operator regex now runs on RE2 (logproc/patterns.py)."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import orjson
import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _entries(path: Path) -> list[dict]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [orjson.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines() if line]


@pytest.mark.parametrize("workers", [0, 1])
def test_runaway_pattern_neither_hangs_nor_holds_back_another_source(work, write_config, workers):
    """Forty `a` through `(?P<x>(a+)+)b`, an `include` and a `redact` of the same shape,
    next to a plain source: the hostile line arrives as a parse error, every line of the
    other source arrives, `/metrics` answers while it runs and SIGTERM stops it with exit 0."""
    port = _free_port()
    config = write_config(
        f"""
        [daemon]
        state_dir = "{{work}}/state"
        metrics_address = "127.0.0.1:{port}"
        watch_config = false
        workers = {workers}
        consumers = 1

        [sources.hostile]
        paths = ["{{work}}/logs/hostile.log"]
        parser = "regex"
        pattern = '(?P<x>(a+)+)b'
        redact = ['(a+)+b']

        [sources.calm]
        paths = ["{{work}}/logs/calm.log"]
        parser = "logfmt"

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.jsonl"
        format = "json"

        [sinks.picky]
        type = "file"
        inputs = ["hostile"]
        path = "{{work}}/out/picky.jsonl"
        include = {{ message = '(a+)+b' }}
        """
    )
    hostile = LogWriter(work / "logs" / "hostile.log")
    calm = LogWriter(work / "logs" / "calm.log")
    out = work / "out" / "all.jsonl"
    with Daemon(config) as d:
        d.wait_started()
        hostile.write(b"a" * 40 + b"\n")
        hostile.write(b"a" * 40 + b"x" * 5000 + b"\n")
        for i in range(5):  # the calm source keeps writing after the hostile lines
            calm.write(numbered(i * 200, 200))
        wait_for(lambda: len(_entries(out)) >= 1002, 20, what="both sources delivered")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert resp.status == 200
            assert b'logproc_source_parse_errors_total{source="hostile"} 2.0' in resp.read()
        assert d.stop(timeout=10) == 0
    entries = _entries(out)
    check_sequence(b"\n".join(e["message"].encode() for e in entries if e["source"] == "calm"), 1000)
    bad = [e for e in entries if e["source"] == "hostile"]
    assert [(e["message"][:41], e["parse_error"]) for e in bad] == [
        ("a" * 40, "pattern did not match"), ("a" * 40 + "x", "pattern did not match")]
    assert _entries(work / "out" / "picky.jsonl") == []  # include never matched, never hung
