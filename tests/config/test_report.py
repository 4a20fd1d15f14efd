"""`describe`: what `logproc check` prints for a valid config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logproc.config import load
from logproc.config.report import describe
from logproc.sources.file import report as report_module


def test_describe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "s3cr3t")
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("a.log", "b.log", "c.log.gz"):
        (logs / name).write_text("line\n")
    config = tmp_path / "logproc.toml"
    config.write_text("""
[daemon]
state_dir = "state"
[sources.app]
paths = ["logs/*.log*", "missing/*.log"]
exclude = ["*.gz"]
parser = "json"
priority = 5
[sources.idle]
paths = ["/nonexistent-logproc/x.log"]
start_at = "end"
[sinks.errors]
type = "file"
inputs = ["app"]
path = "out/{source}.log"
fsync = true
format = "text"
template = "{level} {message} token=${TOKEN}"
min_level = "warning"
include = { message = "timeout|refused" }
exclude = { path = "^/health" }
when_full = "drop"
[sinks.none]
type = "stdout"
inputs = []
""")
    assert describe(load(config)) == f"""\
config: {config}
state_dir: {tmp_path}/state

sources:
  app: parser json, start_at beginning, priority 5
    paths: {logs}/*.log*, {tmp_path}/missing/*.log
    exclude: *.gz
    matches 2 files:
      {logs}/a.log
      {logs}/b.log
    warning: {tmp_path}/missing/*.log matches no file
  idle: parser plain, start_at end, priority 0
    paths: /nonexistent-logproc/x.log
    matches 0 files
    warning: /nonexistent-logproc/x.log matches no file

sinks:
  errors: file {tmp_path}/out/{{source}}.log (fsync) — at least once
    inputs: app
    format: text "{{level}} {{message}} token=***"
    min_level: warning
    include: message matches "timeout|refused"
    exclude: path matches "^/health"
    when_full: drop
  none: stdout — at least once
    inputs: none (the sink receives nothing)
    format: json
    min_level: none (every entry passes)
    when_full: block
warning: source "idle" goes to no sink
"""


def test_unreadable_files_are_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "logproc.toml"
    config.write_text('[sources.app]\npaths = ["/var/log/*.log"]\n[sinks.out]\ntype = "stdout"\n')
    # Tests may run as root, who can read anything: the disk is stubbed.
    found = ["/var/log/a.log", "/var/log/b.log"]
    monkeypatch.setattr(report_module, "match_files", lambda paths, exclude: found)
    monkeypatch.setattr(os, "access", lambda path, mode: path != "/var/log/b.log")
    text = describe(load(config))
    assert "    matches 2 files:\n      /var/log/a.log\n      /var/log/b.log\n" in text
    assert "    warning: /var/log/b.log cannot be read\n" in text
    assert "matches no file" not in text
    assert "inputs: all sources" in text
    assert "goes to no sink" not in text


def test_control_characters_in_file_names_are_escaped(tmp_path: Path) -> None:
    """A file name with a newline or an escape sequence cannot split the listing or reach
    the terminal raw."""
    (tmp_path / "a\nwarning: fake.log").write_text("x\n")
    (tmp_path / "b\x1b]0;owned\x07.log").write_text("x\n")
    config = tmp_path / "logproc.toml"
    config.write_text(f'[daemon]\nstate_dir = "state"\n[sources.app]\npaths = ["{tmp_path}/*.log"]\n'
                      '[sinks.out]\ntype = "stdout"\n')
    text = describe(load(config))
    assert f"      {tmp_path}/a\\nwarning: fake.log\n" in text
    assert f"      {tmp_path}/b\\x1b]0;owned\\x07.log\n" in text
    assert "\x1b" not in text and "\nwarning: fake" not in text


def test_unsafe_config_file_and_state_dir(tmp_path: Path) -> None:
    """A config file others can write is a warning (with watch_config they could reload it);
    a state folder others can write is an error of `check` (see test_cli)."""
    config = tmp_path / "logproc.toml"
    config.write_text('[daemon]\nstate_dir = "state"\n[sources.app]\npaths = ["/x.log"]\n'
                      '[sinks.out]\ntype = "stdout"\n')
    os.chmod(config, 0o666)
    text = describe(load(config))
    assert f'warning: config file {config} is writable by other users (mode 0666); run "chmod go-w {config}"' \
        in text.splitlines()
