"""Reading waits for the pipeline; discovering never does. With the sink down and the queue
full, the source thread used to sit in `queue.put`, and the stat pass (the guarantee when
inotify overflows) ran in that same thread: new files and rotations went unseen, and a
generation rotated and deleted meanwhile was lost. Here file events are off
(LOGPROC_EVENTS=off): only stat passes can find anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logproc.testing import Daemon, HttpTestServer, LogWriter, check_sequence, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _open_paths(pid: int) -> set[str]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return out


def _delivered(server: HttpTestServer) -> bytes:
    return b"".join(server.bodies())


def test_files_found_and_opened_while_the_sink_is_down(work: Path, write_config) -> None:
    """The queue is full behind a refused HTTP sink. A new file appears, the file being read
    is rotated (renamed away, a new one at its name) and the rotated generation is deleted:
    each is found and opened by stat passes meanwhile; when the sink returns every line
    arrives exactly once, the deleted generation's included."""
    logs = work / "logs"
    server = HttpTestServer(listening=False)
    config = write_config(
        f"""
        [daemon]
        state_dir = "{{work}}/state"
        metrics_address = ""
        watch_config = false
        queue_size = 500
        consumers = 1
        workers = 0

        [sources.app]
        paths = ["{{work}}/logs/*.log"]

        [sinks.http]
        type = "http"
        url = "{server.url('/push')}"
        encoding = "ndjson"
        format = "raw"
        batch_max_entries = 500
        batch_timeout = 0.05
        """
    )
    app = LogWriter(logs / "app.log")
    # six reads' worth: one batch in the sink, one in the consumer's hands, one in the queue,
    # the next waits (the queue holds 500 entries; a batch larger than that enters it empty)
    app.write(numbered(0, 50_000, pad=100))
    with server, Daemon(config, env={"LOGPROC_EVENTS": "off"}) as d:
        d.wait_started()
        wait_for(lambda: "http request failed" in d.log(), 10, what="the sink to be refused")
        (logs / "other.log").write_bytes(numbered(100_000, 3000))
        app.rotate(logs / "app.log.1")  # out of the glob; a new app.log at its name
        app.write(numbered(200_000, 3000))
        wait_for(lambda: {str(logs / "other.log"), str(logs / "app.log")} <= _open_paths(d.pid), 10,
                 what="the new file and the new generation to be opened while the queue is full")
        assert str(logs / "app.log.1") in _open_paths(d.pid)  # still read from its descriptor
        os.unlink(logs / "app.log.1")  # rotated away and deleted before it was read
        assert not _delivered(server)
        server.start()
        wait_for(lambda: _delivered(server).count(b"\n") >= 56_000, 60, what="every line")
        assert d.stop() == 0
    check_sequence(_delivered(server),
                   [*range(50_000), *range(100_000, 103_000), *range(200_000, 203_000)])
