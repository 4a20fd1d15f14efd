"""Shared fixtures: a work folder per test and a config factory from TOML text."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(name="work")
def fixture_work(tmp_path: Path) -> Path:
    """A folder for logs, state and output; world-readable so an unprivileged logproc can use it
    (the state folder is the daemon's alone: logproc refuses one others can write to)."""
    os.chmod(tmp_path, 0o755)
    for sub in ("logs", "out"):
        (tmp_path / sub).mkdir(mode=0o777)
        os.chmod(tmp_path / sub, 0o777)
    (tmp_path / "state").mkdir(mode=0o700)
    return tmp_path


@pytest.fixture(name="write_config")
def fixture_write_config(work: Path) -> Callable[..., Path]:
    """Write a config; `{work}` in the text is the work folder. Adds a [daemon] table when absent."""

    def write(text: str, name: str = "logproc.toml") -> Path:
        text = textwrap.dedent(text).lstrip("\n").replace("{work}", str(work))
        if "[daemon]" not in text:
            text = (f'[daemon]\nstate_dir = "{work}/state"\nmetrics_address = ""\n'
                    f"watch_config = false\ncheckpoint_interval = 0.2\n\n") + text
        path = work / name
        path.write_text(text)
        return path

    return write
