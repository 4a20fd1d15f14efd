"""`describe`: what `logproc check` prints for a valid config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logproc.config import load
from logproc.config import report as report_module
from logproc.config.report import describe


def test_describe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "s3cr3t")
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("a.log", "b.log", "c.log.gz"):
        (logs / name).write_text("line\n")
    config = tmp_path / "logproc.toml"
    config.write_text("""
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
  errors: file {tmp_path}/out/{{source}}.log (fsync)
    inputs: app
    format: text "{{level}} {{message}} token=***"
    min_level: warning
    include: message matches "timeout|refused"
    exclude: path matches "^/health"
    when_full: drop
  none: stdout
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
