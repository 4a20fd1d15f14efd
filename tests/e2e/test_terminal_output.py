"""What logproc prints for people cannot drive their terminal (issue: "terminal escapes
pass through"): the `text` format wrote ESC, BEL, BS and NUL raw, so an OSC title sequence
and `ESC[2J` in a log line reached the terminal; `check` printed file names raw."""

from __future__ import annotations

import subprocess

import pytest

from logproc.testing import logproc_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]


def test_text_format_to_stdout_escapes_control_characters(work, write_config):
    (work / "logs" / "app.log").write_bytes(
        b"title \x1b]0;owned\x07 clear \x1b[2J back\x08space nul\x00 del\x7f csi\xc2\x9b tab\tok\n"
        b"plain line, unicode \xc3\xa9 kept\n")
    config = write_config(
        """
        [sources.app]
        paths = ["{work}/logs/*.log"]

        [sinks.screen]
        type = "stdout"
        format = "text"
        template = "{message}"
        """
    )
    result = subprocess.run([*logproc_cmd(), "run", "--once", "-c", str(config)], capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == (
        "title \\x1b]0;owned\\x07 clear \\x1b[2J back\\x08space nul\\x00 del\\x7f csi\\x9b tab\tok\n"
        "plain line, unicode é kept\n")


def test_check_escapes_file_names(work, write_config):
    (work / "logs" / "x\x1b[2J.log").write_bytes(b"x\n")
    (work / "logs" / "y\nwarning: forged.log").write_bytes(b"y\n")
    config = write_config('[sources.app]\npaths = ["{work}/logs/*.log"]\n[sinks.out]\ntype = "stdout"\n')
    result = subprocess.run([*logproc_cmd(), "check", "-c", str(config)], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    assert f"      {work}/logs/x\\x1b[2J.log" in result.stdout.splitlines()
    assert f"      {work}/logs/y\\nwarning: forged.log" in result.stdout.splitlines()
    assert "warning: forged.log" not in [line.strip() for line in result.stdout.splitlines()]
