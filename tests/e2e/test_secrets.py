"""Secrets never reach a file the daemon writes nor its stderr (issue: "secrets leak"): a
`${TOKEN}` holding CR/LF passed `check` and then killed the sink thread with a traceback
printing it; a 401 body echoing the request headers was stored verbatim in the dead
letters (the token, or the `Basic` credential from URL user-info)."""

from __future__ import annotations

import base64
import os
import subprocess

import orjson
import pytest

from logproc.testing import Daemon, HttpTestServer, LogWriter, Reply, logproc_cmd, numbered, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

TOKEN = "tok-8f2b9c41e7d0"
PASSWORD = "pw-Zq7xK2mN"
LITERAL_KEY = "key-4d1e6a9b3c"


def _echo_headers(received) -> Reply:
    """A server that refuses and echoes what it was sent, as some proxies do."""
    return Reply(401, orjson.dumps({"error": "unauthorized", "request_headers": received.headers}))


def test_a_control_character_in_a_header_is_a_config_error_that_names_the_key_not_the_value(
        work, write_config):
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.h]
        type = "http"
        url = "http://127.0.0.1:9/push"
        headers = { Authorization = "Bearer ${TOKEN}" }
        """
    )
    env = {**os.environ, "TOKEN": f"{TOKEN}\r\nX-Injected: 1"}
    for command in (["check"], ["run", "--once"]):
        result = subprocess.run([*logproc_cmd(), *command, "-c", str(config)], capture_output=True,
                                env=env, timeout=30, check=False)
        err = result.stderr.decode()
        assert result.returncode == 2, err
        line = config.read_text().splitlines().index('headers = { Authorization = "Bearer ${TOKEN}" }') + 1
        assert f"{config}:{line}: sinks.h.headers.Authorization: the header value contains a line break or " \
               "another control character (value not shown)" in err
        assert TOKEN not in err and TOKEN not in result.stdout.decode()


def test_no_secret_in_any_file_the_daemon_wrote_nor_in_its_stderr(work, write_config):
    """Three sinks refused with their credentials echoed back: a token from `${TOKEN}`, URL
    user-info, a literal API key header. The dead letters keep the entries and the
    response with `***` in place of each credential; no file under the state and output
    folders, nor stderr, holds any of them."""
    with HttpTestServer(respond=_echo_headers) as server:
        host = f"127.0.0.1:{server.port}"
        config = write_config(
            f"""
            [daemon]
            state_dir = "{{work}}/state"
            metrics_address = ""
            watch_config = false
            log_level = "debug"

            [sources.app]
            paths = ["{{work}}/logs/*.log"]

            [sinks.bearer]
            type = "http"
            url = "http://{host}/a"
            headers = {{ Authorization = "Bearer ${{TOKEN}}" }}
            batch_timeout = 0.05

            [sinks.userinfo]
            type = "http"
            url = "http://loki-user:{PASSWORD}@{host}/b"
            batch_timeout = 0.05

            [sinks.apikey]
            type = "http"
            url = "http://{host}/c"
            headers = {{ X-Api-Key = "{LITERAL_KEY}" }}
            batch_timeout = 0.05
            """
        )
        LogWriter(work / "logs" / "app.log").write(numbered(0, 20))
        with Daemon(config, env={"TOKEN": TOKEN}) as d:
            d.wait_started()
            dead = work / "state" / "dead-letter.jsonl"
            wait_for(lambda: dead.exists() and dead.read_bytes().count(b"\n") >= 60, 20,
                     what="the three sinks' dead letters")
            assert d.stop() == 0
            stderr = d.log()
        seen = {r.headers.get("authorization") or r.headers.get("x-api-key") for r in server.received}
    basic = base64.b64encode(f"loki-user:{PASSWORD}".encode()).decode()
    assert seen == {f"Bearer {TOKEN}", f"Basic {basic}", LITERAL_KEY}  # they were sent
    letters = [orjson.loads(x) for x in dead.read_bytes().splitlines()]
    assert {x["sink"] for x in letters} == {"bearer", "userinfo", "apikey"}
    assert sorted(x["entry"] for x in letters if x["sink"] == "bearer")[0].startswith('{"timestamp"')
    responses = {x["sink"]: orjson.loads(x["response"])["request_headers"] for x in letters}
    assert responses["bearer"]["authorization"] == "***"  # the header's whole value is secret
    assert responses["userinfo"]["authorization"] == "Basic ***"
    assert responses["apikey"]["x-api-key"] == "***"
    secrets = [TOKEN, PASSWORD, basic, LITERAL_KEY]
    written = [p for folder in (work / "state", work / "out") for p in folder.rglob("*") if p.is_file()]
    assert written, "the daemon wrote its state"
    for path in written:
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], path
    assert not [s for s in secrets if s in stderr]
