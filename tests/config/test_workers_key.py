"""`[daemon] workers`: the default, valid values and every refusal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from logproc.config import LoadedConfig
from logproc.pipeline.offload.pool import auto_workers

from .conftest import MINIMAL

Issues = Callable[[str], list[str]]
Loads = Callable[[str], LoadedConfig]


def test_absent_means_automatic(loads: Loads) -> None:
    assert loads(MINIMAL).config.daemon.workers is None


@pytest.mark.parametrize("value", [0, 1, 2, 64])
def test_accepted(loads: Loads, value: int) -> None:
    assert loads(MINIMAL + f"[daemon]\nworkers = {value}\n").config.daemon.workers == value


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "must be at least 0, got -1"),
    ("65", "must be at most 64, got 65"),
    ('"2"', 'expected an integer, got "2"'),
    ("1.5", "expected an integer, got 1.5"),
    ("true", "expected an integer, got true"),
])
def test_refused(issues: Issues, value: str, message: str) -> None:
    assert issues(MINIMAL + f"[daemon]\nworkers = {value}\n") == [f"logproc.toml:7: daemon.workers: {message}"]


def test_automatic_rule() -> None:
    assert auto_workers(parses=True, cpus=2) == 2
    assert auto_workers(parses=True, cpus=16) == 2
    assert auto_workers(parses=True, cpus=1) == 0
    assert auto_workers(parses=False, cpus=8) == 0
