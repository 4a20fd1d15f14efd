"""Fixtures for the config tests: real TOML files in a temporary folder.

Issue strings are compared exactly, with the temporary folder cut off the front so a
test reads `logproc.toml:3: daemon.queue_sise: unknown key ...`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from logproc.config import LoadedConfig, load
from logproc.errors import ConfigErrors

# The smallest valid config; tests append their own tables after it.
MINIMAL = """\
[sources.app]
paths = ["/var/log/app.log"]

[sinks.out]
type = "stdout"
"""


@pytest.fixture(name="write")
def fixture_write(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "logproc.toml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture(name="loads")
def fixture_loads(write: Callable[[str], Path]) -> Callable[[str], LoadedConfig]:
    return lambda text: load(write(text))


@pytest.fixture(name="issues")
def fixture_issues(write: Callable[[str], Path], tmp_path: Path) -> Callable[[str], list[str]]:
    """The issues of an invalid config, as strings relative to the temporary folder."""

    def issues(text: str) -> list[str]:
        with pytest.raises(ConfigErrors) as caught:
            load(write(text))
        return [str(i).removeprefix(f"{tmp_path}/") for i in caught.value.issues]

    return issues
