"""Multiline entries through the real command: stack traces become one entry each, an
entry is complete on the next start or after `timeout`, and the checkpoint never passes a
half-built entry (a restart reads it again from its first line, so it arrives once, whole)."""

from __future__ import annotations

import orjson
import pytest

from logproc.testing import Daemon, run_once, wait_for

pytestmark = pytest.mark.e2e

JAVA = (b"2026-11-24 04:00:01 ERROR request failed\n"
        b"java.lang.IllegalStateException: boom\n"
        b"\tat com.example.Service.handle(Service.java:42)\n"
        b"\tat com.example.Main.main(Main.java:7)\n"
        b"Caused by: java.io.IOException: disk full\n"
        b"\t... 2 more\n")
PYTHON = (b"2026-11-24 04:00:02 ERROR unhandled exception\n"
          b"Traceback (most recent call last):\n"
          b'  File "/srv/app.py", line 3, in <module>\n'
          b"    main()\n"
          b'  File "/srv/app.py", line 2, in main\n'
          b"    1 / 0\n"
          b"ZeroDivisionError: division by zero\n")
NEXT = b"2026-11-24 04:00:03 INFO next request\n"

CONFIG = """
[sources.app]
paths = ["{work}/logs/app.log"]
multiline = {{ start = '^\\d{{4}}-\\d{{2}}-\\d{{2}} ', timeout = {timeout} }}

[sinks.out]
type = "file"
path = "{work}/out/all.jsonl"
format = "json"
"""


def messages(work) -> list[str]:
    path = work / "out" / "all.jsonl"
    if not path.exists():
        return []
    return [orjson.loads(line)["message"] for line in path.read_bytes().splitlines()]


def test_java_and_python_stack_traces_are_one_entry_each(work, write_config):
    (work / "logs" / "app.log").write_bytes(JAVA + PYTHON + NEXT)
    cfg = write_config(CONFIG.format(work="{work}", timeout=1.0))
    done = run_once(cfg)
    assert done.returncode == 0, done.stderr.decode()
    assert messages(work) == [JAVA[:-1].decode(), PYTHON[:-1].decode(), NEXT[:-1].decode()]


@pytest.mark.timeout(60)
def test_entry_completes_after_timeout_without_a_next_start(work, write_config):
    cfg = write_config(CONFIG.format(work="{work}", timeout=0.3))
    log = work / "logs" / "app.log"
    log.write_bytes(b"")
    with Daemon(cfg) as d:
        d.wait_started()
        with open(log, "ab") as f:
            f.write(JAVA)
        wait_for(lambda: len(messages(work)) == 1, 10, what="the trace to complete by timeout")
        assert messages(work) == [JAVA[:-1].decode()]
        assert d.stop() == 0


@pytest.mark.timeout(60)
def test_checkpoint_never_passes_a_half_built_entry(work, write_config):
    """A long timeout holds the trace; a graceful stop leaves it undelivered and the
    checkpoint at its first line; after a restart the trace arrives once, whole."""
    log = work / "logs" / "app.log"
    log.write_bytes(b"")
    cfg = write_config(CONFIG.format(work="{work}", timeout=300.0))
    with Daemon(cfg) as d:
        d.wait_started()
        with open(log, "ab") as f:
            f.write(NEXT + JAVA[:120])
        # the NEXT entry completes when the trace's first line (a start) arrives
        wait_for(lambda: messages(work) == [NEXT[:-1].decode()], 10, what="the first entry")
        with open(log, "ab") as f:
            f.write(JAVA[120:])
        assert d.stop() == 0
    assert messages(work) == [NEXT[:-1].decode()]
    state = orjson.loads((work / "state" / "checkpoints.json").read_bytes())
    assert [r["offset"] for r in state["files"]] == [len(NEXT)]
    with open(log, "ab") as f:
        f.write(PYTHON)
    cfg = write_config(CONFIG.format(work="{work}", timeout=0.3))
    with Daemon(cfg) as d:
        d.wait_started()
        wait_for(lambda: len(messages(work)) == 3, 10, what="the held traces")
        assert d.stop() == 0
    assert messages(work) == [NEXT[:-1].decode(), JAVA[:-1].decode(), PYTHON[:-1].decode()]
