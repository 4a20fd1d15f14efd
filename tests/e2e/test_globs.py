"""`**` in paths (any depth, new subfolders while running, symlink loops not followed), and
paths that name what cannot be tailed (a folder, a FIFO) reported instead of ignored."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

import orjson
import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, logproc_cmd, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _config(write_config, paths: str, exclude: str = "[]") -> Path:
    return write_config(
        f"""
        [sources.app]
        paths = {paths}
        exclude = {exclude}

        [sinks.out]
        type = "file"
        path = "{{work}}/out/all.log"
        format = "raw"
        """
    )


@pytest.mark.parametrize("events", ["on", "off"])
def test_globstar_five_levels_with_folders_made_while_running(work, write_config, events):
    """`logs/**/*.log` over a tree five levels deep: files there at start, folders and files
    made while running (found by events, or by the stat pass alone), an excluded subtree,
    and a symlink loop: every line once, nothing of the excluded tree."""
    logs = work / "logs"
    deep = logs / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (logs / "a" / "b" / "loop").symlink_to(logs / "a")  # a -> b -> loop -> a ...
    (logs / "skip" / "x").mkdir(parents=True)
    (logs / "skip" / "x" / "no.log").write_bytes(numbered(900_000, 10))
    writers = {0: LogWriter(logs / "top.log"), 1: LogWriter(deep / "deep.log")}
    writers[0].write(numbered(0, 100))
    writers[1].write(numbered(1000, 100))
    config = _config(write_config, f'["{logs}/**/*.log"]', f'["{logs}/skip/**"]')
    out = work / "out" / "all.log"
    expected = [*range(100), *range(1000, 1100)]
    env = {} if events == "on" else {"LOGPROC_EVENTS": "off"}
    with Daemon(config, env=env) as d:
        d.wait_started()
        wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") == 200, 15, what="the first files")
        for level in range(2, 7):  # new folders at every depth, while running
            folder = logs.joinpath(*[f"n{i}" for i in range(level)])
            folder.mkdir(parents=True, exist_ok=True)
            LogWriter(folder / "new.log").write(numbered(level * 10_000, 50))
            expected += range(level * 10_000, level * 10_000 + 50)
        writers[1].write(numbered(1100, 100))
        expected += range(1100, 1200)
        wait_for(lambda: out.read_bytes().count(b"\n") >= len(expected), 20, what="the new files")
        assert d.stop() == 0
    check_sequence(out.read_bytes(), expected)


def test_paths_that_are_not_files_are_reported(work, write_config):
    """A path naming a folder and one naming a FIFO: a warning each, at start-up and in
    `check`; the daemon keeps running and reads the real file beside them."""
    logs = work / "logs"
    (logs / "dir.log").mkdir()
    os.mkfifo(logs / "pipe.log")
    (logs / "real.log").write_bytes(numbered(0, 10))
    (logs / "old.log.gz").write_bytes(gzip.compress(numbered(100, 10)))
    config = _config(write_config, f'["{logs}/dir.log", "{logs}/*.log", "{logs}/*.gz"]')
    check = subprocess.run([*logproc_cmd(), "check", "-c", str(config)], capture_output=True, text=True,
                           timeout=30, check=False)
    assert check.returncode == 0, check.stderr
    lines = check.stdout.splitlines()
    assert f"    warning: {logs}/dir.log is a folder, not a file: it is not read" in lines
    assert f"    warning: {logs}/pipe.log is a FIFO, not a file: it is not read" in lines
    size = len(numbered(100, 10))
    assert f"      {logs}/old.log.gz (gzip, {size} bytes decompressed)" in lines
    out = work / "out" / "all.log"
    with Daemon(config) as d:
        d.wait_started()
        wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") == 20, 15, what="the files")
        assert d.proc.poll() is None
        assert d.stop() == 0
        events = [orjson.loads(x) for x in d.log().splitlines()]
    warned = {(os.path.basename(e["path"]), e["event"]) for e in events if e["level"] == "warning"}
    assert warned == {("dir.log", "not a file that can be read line by line: a folder; left alone"),
                      ("pipe.log", "not a file that can be read line by line: a FIFO; left alone")}
    check_sequence(out.read_bytes(), [*range(10), *range(100, 110)])
