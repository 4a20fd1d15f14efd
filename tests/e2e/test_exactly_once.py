"""Stable entry ids end to end (the real `logproc` command): Elasticsearch exactly once
across SIGKILLs (`logproc.testing.FakeElasticsearch`), the same ids when a file is read
again, resumed, rotated and compressed, `id_field` on a file sink, journal cursors as ids
and no id for the syslog receiver's entries."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from logproc.testing import (
    Daemon,
    FakeElasticsearch,
    LogWriter,
    check_sequence,
    numbered,
    run_once,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

ID = re.compile(r"([0-9a-f]{16})-([0-9a-f]+)")


def es_config(write_config, url: str) -> Path:  # type: ignore[no-untyped-def]
    return write_config(f"""
        [sources.app]
        paths = ["{{work}}/logs/*.log"]

        [sinks.es]
        type = "http"
        url = "{url}"
        encoding = "elasticsearch"
        batch_max_entries = 50
        batch_timeout = 0.05
        retry_max_backoff = 0.2
        """)


def messages(docs: list[dict[str, object]]) -> bytes:
    return "\n".join(str(d["message"]) for d in docs).encode()


def duplicates_logged(text: str) -> int:
    """The duplicates the daemon's "sink stats" lines (at stop) report."""
    stats = [json.loads(x) for x in text.splitlines() if '"sink stats"' in x]
    assert stats, "no sink stats logged"
    return sum(int(s.get("duplicates") or 0) for s in stats)


# -- (a) Elasticsearch, exactly once across SIGKILL ----------------------------------------------
def test_sigkill_mid_delivery_into_elasticsearch_leaves_every_line_once(work: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """Three times: lines are written, the daemon starts, and a bulk request (a later one each
    time) is stored by Elasticsearch but its answer held; the daemon is SIGKILLed while it
    waits. Each restart sends that request again (its checkpoint never moved): the index
    refuses the documents it has (409) and the daemon counts them delivered. In the end the
    index holds every line exactly once, and the last daemon reports its duplicates."""
    with FakeElasticsearch() as es:
        cfg = es_config(write_config, es.url())
        log = LogWriter(work / "logs" / "app.log")
        total = 0
        for kill_point in range(3):
            log.write(numbered(total, 300, tag="es"))
            total += 300
            es.held.clear()
            es.faults = [""] * kill_point + ["store-hang"]
            d = Daemon(cfg, log_path=work / "daemon.log")
            wait_for(es.held.is_set, 15, what="a bulk request stored, its answer held")
            d.kill()
            assert len(es.documents()) < total  # killed before everything was delivered
        conflicts_before = es.conflicts
        assert conflicts_before >= 2  # the first two restarts each re-sent a stored request
        log.write(numbered(total, 300, tag="es"))
        total += 300
        with Daemon(cfg, log_path=work / "daemon.log") as d:
            wait_for(lambda: len(es.documents()) >= total, 15, what="every line in the index")
            assert d.stop() == 0
            text = d.log()
        docs = es.documents()
        check_sequence(messages(docs), total)
        assert all(ID.fullmatch(str(doc["_id"])) for doc in docs)
        last = es.conflicts - conflicts_before
        assert last > 0 and duplicates_logged(text) == last
    assert not (work / "state" / "dead-letter.jsonl").exists()


def test_a_lost_answer_is_sent_again_and_not_duplicated(work: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """Stored, then the connection dropped (an answer lost); then a 503 and a drop before
    anything is stored: every retry's documents are refused as duplicates, none is indexed
    twice, none is dead-lettered."""
    with FakeElasticsearch(faults=["store-drop", "503", "drop"]) as es:
        (work / "logs" / "app.log").write_bytes(numbered(0, 200))
        done = run_once(es_config(write_config, es.url()), timeout=30)
        assert done.returncode == 0, done.stderr.decode()
        check_sequence(messages(es.documents()), 200)
        assert es.conflicts == 50  # the first request's 50 documents, sent again
    assert not (work / "state" / "dead-letter.jsonl").exists()


# -- (b) the same ids, however the file is read ----------------------------------------------------
def file_config(write_config, name: str) -> Path:  # type: ignore[no-untyped-def]
    return write_config(f"""
        [daemon]
        state_dir = "{{work}}/state-{name}"
        metrics_address = ""
        watch_config = false

        [sources.app]
        paths = ["{{work}}/logs/app.log*"]

        [sinks.out]
        type = "file"
        path = "{{work}}/out/{name}.jsonl"
        format = "json"
        id_field = "id"
        """, name=f"{name}.toml")


def ids_by_seq(work: Path, name: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in (work / "out" / f"{name}.jsonl").read_bytes().splitlines():
        entry = json.loads(line)
        seq = int(re.search(r"seq=(\d+)", entry["message"]).group(1))  # type: ignore[union-attr]
        assert seq not in out, f"seq={seq} delivered twice"
        out[seq] = entry["id"]
    return out


def expected_ids(content: bytes, ident: str) -> dict[int, str]:
    """Each numbered line's id from the file's bytes: its ident and the line's offset."""
    return {int(m.group(1)): f"{ident}-{m.start():x}" for m in re.finditer(rb"seq=(\d+)", content)}


def once(config: Path) -> None:
    done = run_once(config, timeout=30)
    assert done.returncode == 0, done.stderr.decode()


def spiced(start: int, count: int) -> bytes:
    """Numbered lines with CRLF endings and empty lines between some."""
    out = bytearray()
    for n in range(start, start + count):
        out += b"seq=%d line\r\n" % n if n % 7 == 0 else b"seq=%d line\n" % n
        if n % 10 == 0:
            out += b"\n\r\n"
    return bytes(out)


def test_ids_are_the_same_when_read_again_resumed_rotated_and_compressed(work: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """One file, known to both A and B (the same checkpoint record: `state-a` is a copy of
    `state-b` taken before either read it). B reads it in two runs; A in one. Then, while
    both are stopped, it grows, is renamed to `app.log.1` and gzipped, and a new `app.log`
    starts: both read the archive on from their checkpoints. Every line has the same id in
    A and in B, and that id is the file's ident and the line's offset in the file."""
    logs = work / "logs"
    a, b = file_config(write_config, "a"), file_config(write_config, "b")
    (logs / "app.log").write_bytes(b"")
    once(b)  # B knows the (empty) file: its record, and ident, exist
    shutil.copytree(work / "state-b", work / "state-a")
    content = spiced(0, 150)
    (logs / "app.log").write_bytes(content)
    once(b)
    more = spiced(150, 150)
    with open(logs / "app.log", "ab") as f:
        f.write(more)
    content += more
    once(b)  # resumed
    once(a)  # read again, in one go, from the copied state
    ids_a, ids_b = ids_by_seq(work, "a"), ids_by_seq(work, "b")
    ident = ID.fullmatch(ids_b[0]).group(1)  # type: ignore[union-attr]
    assert ids_a == ids_b == expected_ids(content, ident)
    # grown, rotated and gzipped while stopped; a new file begins
    more = spiced(300, 100)
    with open(logs / "app.log", "ab") as f:
        f.write(more)
    content += more
    os.rename(logs / "app.log", logs / "app.log.1")
    with open(logs / "app.log.1", "rb") as src, gzip.open(logs / "app.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.unlink(logs / "app.log.1")
    (logs / "app.log").write_bytes(spiced(400, 50))
    once(b)
    once(a)
    ids_a, ids_b = ids_by_seq(work, "a"), ids_by_seq(work, "b")
    assert sorted(ids_a) == sorted(ids_b) == list(range(450))
    want = expected_ids(content, ident)
    assert {n: ids_a[n] for n in range(400)} == {n: ids_b[n] for n in range(400)} == want
    new_idents = {ID.fullmatch(ids_b[n]).group(1) for n in range(400, 450)}  # type: ignore[union-attr]
    assert len(new_idents) == 1 and ident not in new_idents  # another file: another ident
    assert ids_b[400] == f"{new_idents.pop()}-0"


# -- (c) journald cursors, the syslog receiver ----------------------------------------------------
def test_journal_entries_have_their_cursor_as_id(work: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    from tests.journal_support import JOURNAL_REMOTE, Journal, numbered_entries

    if not os.access(JOURNAL_REMOTE, os.X_OK) or not shutil.which("journalctl"):
        pytest.skip("no systemd-journal-remote or journalctl")
    journal = Journal(work / "journal")
    journal.append(numbered_entries(0, 50))
    cfg = write_config("""
        [sources.j]
        type = "journald"
        directory = "{work}/journal"
        start_at = "beginning"

        [sinks.out]
        type = "file"
        path = "{work}/out/j.jsonl"
        format = "json"
        id_field = "id"

        [sinks.plain]
        type = "file"
        path = "{work}/out/plain.jsonl"
        format = "json"
        """)
    once(cfg)
    listed = subprocess.run(["journalctl", "-D", str(work / "journal"), "-o", "json", "--all", "--no-pager"],
                            capture_output=True, check=True, timeout=20).stdout
    cursors = [json.loads(x)["__CURSOR"] for x in listed.splitlines()]
    entries = [json.loads(x) for x in (work / "out" / "j.jsonl").read_bytes().splitlines()]
    assert [e["id"] for e in entries] == cursors and len(cursors) == 50
    plain = [json.loads(x) for x in (work / "out" / "plain.jsonl").read_bytes().splitlines()]
    assert len(plain) == 50 and not any("id" in e or "__cursor" in e for e in plain)


def test_syslog_receiver_entries_have_no_id_field(work: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(f"""
        [sources.net]
        type = "syslog"
        listen = ["udp://127.0.0.1:{port}"]

        [sinks.out]
        type = "file"
        path = "{{work}}/out/net.jsonl"
        format = "json"
        id_field = "id"
        """)
    out = work / "out" / "net.jsonl"
    with Daemon(cfg, log_path=work / "daemon.log") as d:
        d.wait_started()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for n in range(20):
                s.sendto(b"<14>1 2026-12-01T10:00:00.000Z host app 42 - - seq=%d" % n, ("127.0.0.1", port))
                time.sleep(0.001)  # UDP on loopback: no drops from a burst
        wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") >= 20, 10, what="20 messages")
        assert d.stop() == 0
    entries = [json.loads(x) for x in out.read_bytes().splitlines()]
    check_sequence("\n".join(e["message"] for e in entries).encode(), 20)
    assert not any("id" in e for e in entries)
