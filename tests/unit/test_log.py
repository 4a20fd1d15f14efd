"""logproc's own log: stderr carries nothing but its JSON lines, masked, whatever writes
them (issue: libraries' warnings reached stderr as plain text among the JSON lines, and a
traceback printed a raw token). Run in a child interpreter: the hooks are process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import orjson

SCRIPT = textwrap.dedent("""
    import logging, threading
    from logproc import log
    log.set_mask(lambda text: text.replace("s3cr3t", "***"))
    log.configure("{level}")
    logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
    logging.getLogger("watchdog.observers.inotify").debug("InotifyEmitter.queue_events() called when the thread is inactive")
    def fail():
        raise ValueError("header value s3cr3t is bad")
    t = threading.Thread(target=fail, name="sink-h")
    t.start(); t.join()
    log.get_logger("x").info("done", token="s3cr3t")
    raise RuntimeError("main thread s3cr3t")
""")


def _run(level: str) -> tuple[int, list[dict], str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(level=level)], capture_output=True,
                            timeout=30, check=False)
    err = result.stderr.decode()
    return result.returncode, [orjson.loads(line) for line in err.splitlines()], err


def test_every_writer_goes_through_the_masked_json_log() -> None:
    code, lines, err = _run("info")
    assert code == 1
    assert "s3cr3t" not in err
    assert [(e["component"], e["level"], e["event"]) for e in lines] == [
        ("watchdog.observers.inotify_c", "warning", "Inotify queue overflowed; filesystem events were lost"),
        ("thread", "error", "a thread ended with an error"),
        ("x", "info", "done"),
        ("main", "error", "logproc ended with an error"),
    ]
    assert lines[1]["thread"] == "sink-h"
    assert lines[1]["exception"].endswith("ValueError: header value *** is bad")
    assert lines[2]["token"] == "***"
    assert lines[3]["exception"].endswith("RuntimeError: main thread ***")


def test_library_debug_lines_only_at_debug_level() -> None:
    _, lines, _ = _run("debug")
    assert ("watchdog.observers.inotify", "debug",
            "InotifyEmitter.queue_events() called when the thread is inactive") in [
        (e["component"], e["level"], e["event"]) for e in lines]
