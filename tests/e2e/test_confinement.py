"""logproc writes only inside its folders, and a bad value is a config error, not a crash
(issues: "writes outside its folders", "crashes on bad config values"):
- a symlink planted in an other-writable state_dir made a root daemon overwrite its target;
- an existing 0777 state_dir kept its mode without a word;
- `out/{source}/../../../x.log` passed check and wrote outside out/;
- a world-writable config file drew no warning while watch_config reloads it;
- a NUL in a file-sink path passed check and killed the sink thread (0 delivered, exit 0);
- a missing ca_file passed check, then failed without the path;
- a dangling state_dir symlink exited 1 with "[Errno 17] File exists".
"""

from __future__ import annotations

import os
import subprocess

import orjson
import pytest

from logproc.testing import (
    Daemon,
    HttpTestServer,
    LogWriter,
    Reply,
    logproc_cmd,
    numbered,
    run_once,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*logproc_cmd(), *args], capture_output=True, text=True, timeout=30, check=False)


def _line(config, text: str) -> int:
    return next(i for i, line in enumerate(config.read_text().splitlines(), 1) if text in line)


SOURCE = """
[sources.app]
paths = ["{work}/logs/*.log"]
"""


@pytest.mark.parametrize("command", [["check"], ["run", "--once"]])
def test_an_other_writable_state_dir_is_refused(work, write_config, command):
    victim = work / "victim.txt"
    victim.write_text("precious\n")
    state = work / "shared"
    state.mkdir(mode=0o777)
    os.chmod(state, 0o777)
    os.symlink(victim, state / "checkpoints.json.tmp")  # what another user would plant
    config = write_config(f'[daemon]\nstate_dir = "{state}"\nmetrics_address = ""\n'
                          + SOURCE + '[sinks.out]\ntype = "file"\npath = "{work}/out/x.log"\n')
    LogWriter(work / "logs" / "a.log").write(numbered(0, 3))
    result = _cli(*command, "-c", str(config))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"logproc: {config}: invalid config (1 problem):\n"
        f"  {config}:2: daemon.state_dir: {state} is writable by other users (mode 0777): they could "
        f'replace the daemon\'s checkpoints or redirect its writes; run "chmod 700 {state}" or choose '
        "another folder\n")
    assert victim.read_text() == "precious\n"
    assert not (work / "out" / "x.log").exists()


def test_a_planted_symlink_in_the_state_dir_is_never_written_through(work, write_config):
    """Even in the daemon's own folder (it could have been unsafe earlier): the temp file and
    the dead-letter file are opened O_NOFOLLOW/O_EXCL, their targets stay untouched."""
    victims = {name: work / f"victim-{name}" for name in ("tmp", "dead")}
    for v in victims.values():
        v.write_text("precious\n")
    os.symlink(victims["tmp"], work / "state" / "checkpoints.json.tmp")
    os.symlink(victims["dead"], work / "state" / "dead-letter.jsonl")
    with HttpTestServer(respond=lambda r: Reply(400, b"bad")) as server:
        config = write_config('[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\n'
                              "shutdown_timeout = 2\n" + SOURCE
                              + '[sinks.out]\ntype = "file"\npath = "{work}/out/x.log"\n'
                              f'[sinks.h]\ntype = "http"\nurl = "{server.url()}"\nbatch_timeout = 0.05\n')
        LogWriter(work / "logs" / "a.log").write(numbered(0, 5))
        with Daemon(config) as d:
            d.wait_started()
            wait_for(lambda: "cannot write the dead-letter file" in d.log(), 10,
                     what="the refused dead-letter write to be logged")
            wait_for(lambda: (work / "out" / "x.log").exists()
                     and (work / "out" / "x.log").read_bytes().count(b"\n") == 5, 10, what="the file sink")
            # the refused entries wait (nowhere to put them): the drain ends at its deadline
            assert d.stop(timeout=15) == 1
    assert {k: v.read_text() for k, v in victims.items()} == {"tmp": "precious\n", "dead": "precious\n"}
    assert not (work / "state" / "checkpoints.json.tmp").is_symlink()
    doc = orjson.loads((work / "state" / "checkpoints.json").read_bytes())
    assert doc["version"] == 2


def test_source_placeholder_cannot_climb_out_of_the_sink_folder(work, write_config):
    config = write_config(SOURCE + '[sinks.f]\ntype = "file"\npath = "out/{source}/../../../x.log"\n')
    for command in (["check"], ["run", "--once"]):
        result = _cli(*command, "-c", str(config))
        assert result.returncode == 2
        assert (f"{config}:{_line(config, 'path = ')}: sinks.f.path: \".\" and \"..\" are not allowed after "
                f"{{source}}: the path must stay in \"{work}/out/\"") in result.stderr
    assert not (work.parent / "x.log").exists()


@pytest.mark.parametrize(("sink", "key", "message"), [
    ('type = "file"\npath = "{work}/out/a\\u0000b.log"', "path", "a path cannot contain a NUL character"),
    ('type = "file"\npath = "{work}/out/' + "n" * 300 + '.log"', "path",
     'path component "' + "n" * 40 + '…" is 304 bytes long, limit 255'),
    ('type = "http"\nurl = "https://127.0.0.1:9/x"\nca_file = "{work}/missing-ca.pem"', "ca_file",
     'no such file: "{work}/missing-ca.pem"'),
    ('type = "http"\nurl = "http://127.0.0.1:9/x y"', "url",
     "the URL contains a blank or a control character (percent-encode it)"),
])
def test_values_that_would_crash_the_run_are_check_errors(work, write_config, sink, key, message):
    """What `check` accepts, `run` can use: these were accepted and then crashed at run time."""
    config = write_config(SOURCE + "[sinks.s]\n" + sink.replace("{work}", str(work)) + "\n")
    LogWriter(work / "logs" / "a.log").write(numbered(0, 3))
    for command in (["check"], ["run", "--once"]):
        result = _cli(*command, "-c", str(config))
        assert result.returncode == 2, result.stderr
        expected = f"sinks.s.{key}: {message.replace('{work}', str(work))}"
        assert expected in result.stderr


def test_a_dangling_state_dir_symlink_is_a_config_error(work, write_config):
    link = work / "state-link"
    os.symlink(work / "gone", link)
    config = write_config(f'[daemon]\nstate_dir = "{link}"\nmetrics_address = ""\n' + SOURCE
                          + '[sinks.out]\ntype = "stdout"\n')
    for command in (["check"], ["run", "--once"]):
        result = _cli(*command, "-c", str(config))
        assert result.returncode == 2
        assert (f"{config}:2: daemon.state_dir: {link} is a symlink to {work}/gone, which does not exist"
                in result.stderr)
    assert not (work / "gone").exists()


def test_state_dir_created_private_and_config_file_warned_about(work, write_config):
    """A missing state folder is created 0700; a world-writable config file is a warning of
    `run` (stderr) and of `check`."""
    state = work / "new" / "state"
    config = write_config(f'[daemon]\nstate_dir = "{state}"\nmetrics_address = ""\n' + SOURCE
                          + '[sinks.out]\ntype = "file"\npath = "{work}/out/x.log"\n')
    os.chmod(config, 0o666)
    LogWriter(work / "logs" / "a.log").write(numbered(0, 3))
    result = run_once(config)
    assert result.returncode == 0, result.stderr
    assert oct(os.stat(state).st_mode & 0o777) == "0o700"
    warning = f'config file {config} is writable by other users (mode 0666); run "chmod go-w {config}"'
    events = [orjson.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events if e["level"] == "warning"] == [warning]
    check = _cli("check", "-c", str(config))
    assert check.returncode == 0
    assert f"warning: {warning}" in check.stdout.splitlines()
