"""The shipped default config and the examples commented out in it are valid configs."""

from __future__ import annotations

from pathlib import Path

from logproc.config import load_text

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "logproc.toml"
MARKER = "# --- examples"


def test_the_shipped_config_loads() -> None:
    loaded = load_text(SHIPPED.read_text(), SHIPPED)
    assert {"system", "journal"} <= set(loaded.config.sources)


def test_every_commented_example_loads_once_uncommented(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("LOKI_TOKEN", "KAFKA_PASSWORD"):  # the examples' ${NAME}s
        monkeypatch.setenv(name, "x")
    text = SHIPPED.read_text()
    head, _, examples = text.partition(MARKER)
    assert examples, "the shipped config lost its examples section"
    body = examples.split("\n", 1)[1]
    uncommented = "\n".join(line[2:] if line.startswith("# ") else line for line in body.splitlines())
    loaded = load_text(head + uncommented, SHIPPED)
    kinds = {s.type for s in loaded.config.sinks.values()} | {getattr(s, "type", "file")
                                                               for s in loaded.config.sources.values()}
    # every sink and source kind has an example an operator can start from
    assert kinds >= {"stdout", "file", "http", "syslog", "kafka", "nats", "otlp", "journald"}
