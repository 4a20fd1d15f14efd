"""The kafka sink's config through the real `logproc check`: problems named with their
key, the sink described with its guarantee, the SASL password never shown. No broker is
needed (librdkafka judges the settings on a client that connects nowhere)."""

from __future__ import annotations

import subprocess

import pytest

from logproc.testing import logproc_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(20)]


def check(path):
    r = subprocess.run([*logproc_cmd(), "check", "-c", str(path)], capture_output=True, timeout=15, check=False)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def test_config_errors_name_the_key(work, write_config):
    bad = write_config('[sources.app]\npaths = ["{work}/logs/app.log"]\n'
                       '[sinks.k]\ntype = "kafka"\nbrokers = ["nohost"]\ntopic = "bad topic"\n'
                       'librdkafka = { "no.such.setting" = 1 }\n')
    code, out = check(bad)
    assert code == 2, out
    assert "sinks.k.brokers" in out and "host:port" in out
    assert "sinks.k.topic" in out and "invalid topic name" in out
    bad2 = write_config('[sources.app]\npaths = ["{work}/logs/app.log"]\n'
                        '[sinks.k]\ntype = "kafka"\nbrokers = ["h:9092"]\ntopic = "t"\n'
                        'librdkafka = { "no.such.setting" = 1 }\n', name="bad2.toml")
    code, out = check(bad2)
    assert code == 2, out
    assert "no.such.setting" in out


def test_check_describes_the_sink_and_hides_the_password(work, write_config):
    cfg = write_config('[sources.app]\npaths = ["{work}/logs/app.log"]\n'
                       '[sinks.k]\ntype = "kafka"\nbrokers = ["k1:9092", "k2:9092"]\ntopic = "logs-{source}"\n'
                       'key = "{host}"\nsasl = { mechanism = "SCRAM-SHA-512", username = "u", '
                       'password = "s3cr3t-pw" }\n')
    code, out = check(cfg)
    assert code == 0, out
    assert "k1:9092,k2:9092" in out and "logs-{source}" in out
    assert "at least once (records carry logproc-id" in out
    assert "s3cr3t-pw" not in out
