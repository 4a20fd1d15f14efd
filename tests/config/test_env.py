"""`${NAME}` substitution, secrets and masking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from logproc.config import LoadedConfig, load_text
from logproc.config.env import substitute
from logproc.masking import masker
from logproc.sinks.file.config import FileSinkConfig

Issues = Callable[[str], list[str]]
Loads = Callable[[str], LoadedConfig]

CONFIG = '[sources.app]\npaths = ["/x"]\nfields = {fields}\n[sinks.out]\ntype = "stdout"\n'


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "s3cr3t-t0ken")
    monkeypatch.setenv("LOGDIR", "/srv/logs")
    monkeypatch.setenv("EMPTY", "")
    monkeypatch.delenv("MISSING", raising=False)


def test_substitutes_every_string_value_not_keys(loads: Loads) -> None:
    loaded = loads("""
        [sources.app]
        paths = ["${LOGDIR}/*.log"]
        fields = { token = "Bearer ${TOKEN}", "${TOKEN}" = "key stays", n = 1 }
        rename = { msg = "$${TOKEN}" }
        [sinks.out]
        type = "file"
        path = "${LOGDIR}/out/{source}.log"
    """)
    src = loaded.config.sources["app"]
    assert src.paths == ["/srv/logs/*.log"]
    assert src.fields == {"token": "Bearer s3cr3t-t0ken", "${TOKEN}": "key stays", "n": 1}
    assert src.rename == {"msg": "${TOKEN}"}  # $${ is a literal ${
    sink = loaded.config.sinks["out"]
    assert isinstance(sink, FileSinkConfig)
    assert sink.path == "/srv/logs/out/{source}.log"
    # the substituted values, and the value of a key named like a credential (`token`)
    assert loaded.secrets == frozenset({"s3cr3t-t0ken", "/srv/logs", "Bearer s3cr3t-t0ken"})


def test_nested_lists_and_tables() -> None:
    data = {"a": [{"b": ["x ${TOKEN} y", 3]}], "$${": "$$${TOKEN}"}
    result = substitute(data, {"TOKEN": "t"})
    assert result.data == {"a": [{"b": ["x t y", 3]}], "$${": "$${TOKEN}"}
    assert result.secrets == {"t"}
    assert result.issues == []
    assert data["a"] == [{"b": ["x ${TOKEN} y", 3]}]  # the input is left as it was


def test_empty_value_is_no_secret(loads: Loads) -> None:
    loaded = loads(CONFIG.format(fields='{ e = "a${EMPTY}b" }'))
    assert loaded.config.sources["app"].fields == {"e": "ab"}
    assert loaded.secrets == frozenset()


def test_missing_variable_and_bad_reference(issues: Issues) -> None:
    assert issues("""
        [sources.app]
        paths = [
            "/x",
            "${MISSING}/*.log",
        ]
        fields = { a = "${1X}", b = "${TOKEN" }
        [sinks.out]
        type = "stdout"
    """) == [
        'logproc.toml:4: sources.app.paths[1]: environment variable "MISSING" is not set',
        'logproc.toml:6: sources.app.fields.a: invalid "${": write ${NAME} with NAME made of letters, digits '
        'and "_", or $${ for a literal "${"',
        'logproc.toml:6: sources.app.fields.b: invalid "${": write ${NAME} with NAME made of letters, digits '
        'and "_", or $${ for a literal "${"',
    ]


def test_secrets_are_masked_in_messages(issues: Issues, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEVEL", "verbose")
    monkeypatch.setenv("N", "lots")
    assert issues("""
        [daemon]
        log_level = "${LEVEL}"
        consumers = "${N}"
        metrics_address = "${TOKEN}"
        [sources.app]
        paths = ["/x"]
        timezone = "Mars/${TOKEN}"
        [sinks.out]
        type = "stdout"
        inputs = ["${TOKEN}"]
    """) == [
        'logproc.toml:2: daemon.log_level: invalid value "***"; expected one of: debug, info, warning, error',
        'logproc.toml:3: daemon.consumers: expected an integer, got "***"',
        'logproc.toml:4: daemon.metrics_address: expected "host:port" such as "127.0.0.1:9977", '
        'or "" to disable, got "***"',
        'logproc.toml:7: sources.app.timezone: unknown time zone "Mars/***"; '
        'expected "local", "UTC" or an IANA name',
        'logproc.toml:10: sinks.out.inputs: unknown source "***" in inputs',
    ]


def test_long_values_are_masked_before_being_cut(issues: Issues, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONG", "x" * 200)
    [issue] = issues('[daemon]\nqueue_size = "abc ${LONG}"\n' + CONFIG.format(fields="{}"))
    assert issue == 'logproc.toml:2: daemon.queue_size: expected an integer, got "abc ***"'
    monkeypatch.setenv("LONG", "y" * 200)
    [issue] = issues('[daemon]\nqueue_size = "' + "a" * 100 + '${LONG}"\n' + CONFIG.format(fields="{}"))
    assert issue == 'logproc.toml:2: daemon.queue_size: expected an integer, got "' + "a" * 78 + "…"


def test_mask_longest_first() -> None:
    mask = masker({"abc", "abcdef", ""})
    assert mask("x abcdef y abc z") == "x *** y *** z"
    assert masker([])("abc") == "abc"


def test_loaded_config_masks_and_hides_secrets(tmp_path: Path) -> None:
    loaded = load_text(CONFIG.format(fields='{ t = "${TOKEN}" }'), tmp_path / "c.toml")
    assert loaded.mask("token=s3cr3t-t0ken;") == "token=***;"
    assert "s3cr3t" not in repr(loaded)
    assert "fields={'t': '***'}" in repr(loaded)
