"""Bad input never stops the daemon: binary data, huge lines, invalid UTF-8, unreadable
and deleted files. Other files keep flowing and each case is logged clearly."""

from __future__ import annotations

import os
import shutil

import orjson
import pytest

from logproc.testing import Daemon, LogWriter, check_sequence, numbered, wait_for

pytestmark = pytest.mark.e2e


def _entries(path) -> list[dict]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    complete = data[: data.rfind(b"\n") + 1]  # a line being written is not complete yet
    return [orjson.loads(line) for line in complete.split(b"\n") if line]


def _without_dac_override() -> list[str]:
    """As root, run logproc without the capabilities that let root read any file."""
    if os.geteuid() != 0:
        return []
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root's DAC override"
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_bad_files_do_not_stop_the_others(work, write_config):
    """A binary file, a 5 MiB line, invalid UTF-8, an unreadable file and a file deleted
    mid-read: every readable line arrives, the good file keeps flowing, errors are logged."""
    logs = work / "logs"
    (logs / "binary.log").write_bytes(bytes(range(256)) * 64 + b"\n" + os.urandom(4096) + b"\n")
    (logs / "huge.log").write_bytes(b"a" * (5 * 1024 * 1024) + b"\nseq=900000 after the huge line\n")
    (logs / "utf8.log").write_bytes(b"seq=900001 bad \xff\xfe bytes\n")
    (logs / "locked.log").write_bytes(b"seq=999999 never readable\n")
    os.chmod(logs / "locked.log", 0)
    big = logs / "deleted.log"
    big.write_bytes(numbered(100_000, 200_000, pad=100))  # ~25 MB, being read when deleted
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log"]
        parser = "plain"

        [sinks.out]
        type = "file"
        path = "{work}/out/all.jsonl"
        format = "json"
        """
    )
    out = work / "out" / "all.jsonl"
    good = LogWriter(logs / "good.log")
    with Daemon(config, wrap=_without_dac_override()) as d:
        d.wait_started()
        wait_for(lambda: out.exists() and out.stat().st_size > 0, 20, what="first output")
        os.unlink(big)  # deleted while being read: the open descriptor is read to its end
        good.write(numbered(0, 1000))
        wait_for(lambda: sum(1 for e in _entries(out) if "good.log" in e["file"]) >= 1000, 30,
                 what="the good file's lines")
        wait_for(lambda: sum(1 for e in _entries(out) if e["file"].endswith("deleted.log")) >= 200_000, 60,
                 what="every line of the deleted file")
        assert d.proc.poll() is None, "the daemon must keep running"
        assert d.stop() == 0
        log = d.log()
    entries = _entries(out)
    by_file: dict[str, list[dict]] = {}
    for e in entries:
        by_file.setdefault(os.path.basename(e["file"]), []).append(e)
    check_sequence(b"\n".join(e["message"].encode() for e in by_file["good.log"]), 1000)
    check_sequence(b"\n".join(e["message"].encode() for e in by_file["deleted.log"]), range(100_000, 300_000))
    huge = by_file["huge.log"]
    assert [e.get("line_part") for e in huge] == [1, 2, 3, 4, 5, None]
    assert [len(e["message"]) for e in huge[:5]] == [1024 * 1024] * 5
    assert huge[5]["message"] == "seq=900000 after the huge line"
    assert [e["message"] for e in by_file["utf8.log"]] == ["seq=900001 bad \ufffd\ufffd bytes"]
    assert len(by_file["binary.log"]) >= 2  # delivered, with replacement characters
    assert "locked.log" not in by_file
    errors = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
    locked = [e for e in errors if e.get("path", "").endswith("locked.log")]
    assert locked and locked[0]["level"] == "error" and locked[0]["event"] == "cannot open file"
    assert "Permission denied" in locked[0]["error"]
    released = [e for e in errors if e.get("event") == "file released" and e["path"].endswith("deleted.log")]
    assert released and released[0]["state"] == "deleted"
