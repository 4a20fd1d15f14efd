"""The config file watch degrades to SIGHUP when inotify is used up, instead of failing."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import structlog

from logproc.daemon import config_watch


def test_no_inotify_left_is_a_warning_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "logproc.toml"
    config.write_text("")

    def used_up(*_args: object, **_kw: object) -> None:
        raise OSError(errno.EMFILE, "inotify instance limit reached")

    monkeypatch.setattr(config_watch.Observer, "schedule", used_up)
    watch = config_watch.ConfigWatcher(config, lambda: None)
    with structlog.testing.capture_logs() as logs:
        watch.start()
    watch.stop()
    assert [(e["event"], e["error"]) for e in logs] == [
        ("cannot watch the config file for edits; reload with SIGHUP",
         "[Errno 24] inotify instance limit reached")]
