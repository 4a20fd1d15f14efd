"""The command line: version, check, config errors and exit codes, against the real command."""

from __future__ import annotations

import subprocess

import pytest

from logproc import __version__
from logproc.testing import logproc_cmd

pytestmark = pytest.mark.e2e

SECRET = "s3cr3t-t0ken-value"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([*logproc_cmd(), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False)


def test_version_prints_the_version_on_stdout():
    """`logproc --version` prints the version and exits 0."""
    r = _run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"logproc {__version__}"


def test_config_with_several_mistakes_lists_every_one_and_hides_secrets(work, write_config):
    """Four different mistakes: exit 2, each with file, line, key path and a suggestion;
    the secret substituted from ${NAME} appears nowhere."""
    config = write_config(
        """
        [daemon]
        state_dir = "{work}/state"
        queue_sise = 100

        [sources.app]
        paths = ["{work}/logs/*.log"]
        parser = "jsn"

        [sinks.errors]
        type = "file"
        path = "{work}/out/errors.log"
        min_level = "warnig"
        inputs = ["ap"]
        when_full = "${TOKEN}"
        """
    )
    for command in ("run", "check"):
        r = _run(command, "-c", str(config), env={"TOKEN": SECRET})
        assert r.returncode == 2, r.stderr
        assert SECRET not in r.stdout + r.stderr
        lines = [ln.strip() for ln in r.stderr.splitlines()]
        f = str(config)
        assert lines[0] == f"logproc: {f}: invalid config (5 problems):"
        assert lines[1:] == [
            f'{f}:3: daemon.queue_sise: unknown key "queue_sise"; did you mean "queue_size"?',
            f'{f}:7: sources.app.parser: invalid value "jsn"; expected one of: plain, json, logfmt, '
            f'regex, syslog, combined, common; did you mean "json"?',
            f'{f}:12: sinks.errors.min_level: invalid value "warnig"; expected one of: trace, debug, '
            f'info, notice, warning, error, critical; did you mean "warning"?',
            f'{f}:13: sinks.errors.inputs: unknown source "ap" in inputs; did you mean "app"?',
            f'{f}:14: sinks.errors.when_full: invalid value "***"; expected one of: block, drop',
        ]


def test_missing_environment_variable_is_a_config_error(work, write_config):
    """A `${NAME}` with no such variable is reported at its key."""
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/${NO_SUCH_VARIABLE_HERE}.log"]

        [sinks.out]
        type = "stdout"
        """
    )
    r = _run("check", "-c", str(config))
    assert r.returncode == 2
    assert f'{config}:8: sources.app.paths[0]: environment variable "NO_SUCH_VARIABLE_HERE" is not set' in r.stderr


def test_check_shows_sources_files_and_sinks_with_secrets_masked(work, write_config):
    """`check` exits 0 and reports matched files, sinks, routes; secret values print as ***."""
    (work / "logs" / "a.log").write_text("x\n")
    (work / "logs" / "b.log").write_text("y\n")
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log", "{work}/nothing/*.log"]
        parser = "json"
        fields = { token = "${TOKEN}" }

        [sinks.errors]
        type = "file"
        inputs = ["app"]
        path = "{work}/out/errors.jsonl"
        min_level = "warning"
        """
    )
    r = _run("check", "-c", str(config), env={"TOKEN": SECRET})
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    assert str(work / "logs" / "a.log") in r.stdout
    assert str(work / "logs" / "b.log") in r.stdout
    assert "matches no file" in r.stdout
    assert "errors" in r.stdout and "warning" in r.stdout


def test_default_config_path_comes_from_the_environment(work, write_config):
    """Without -c, $LOGPROC_CONFIG names the config."""
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.out]
        type = "stdout"
        """
    )
    r = _run("check", env={"LOGPROC_CONFIG": str(config)})
    assert r.returncode == 0, r.stderr
    assert str(config) in r.stdout


def test_missing_config_file_exits_2(work):
    """A config path that does not exist is a config error."""
    r = _run("check", "-c", str(work / "nope.toml"))
    assert r.returncode == 2
    assert "nope.toml" in r.stderr
