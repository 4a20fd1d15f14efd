"""The otlp sink's severity mapping: every canonical level, no level, an unknown one."""

from __future__ import annotations

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from logproc.sinks.otlp.severity import severity
from logproc.transforms.levels import CANONICAL_LEVELS


@pytest.mark.parametrize(("level", "name"), [
    ("trace", "SEVERITY_NUMBER_TRACE"), ("debug", "SEVERITY_NUMBER_DEBUG"),
    ("info", "SEVERITY_NUMBER_INFO"), ("notice", "SEVERITY_NUMBER_INFO2"),
    ("warning", "SEVERITY_NUMBER_WARN"), ("error", "SEVERITY_NUMBER_ERROR"),
    ("critical", "SEVERITY_NUMBER_FATAL"),
])
def test_canonical_levels(level, name):
    assert severity(level) == (SeverityNumber.Value(name), level)


def test_every_canonical_level_is_mapped_in_order():
    numbers = [severity(level)[0] for level in CANONICAL_LEVELS]
    assert numbers == sorted(numbers) and all(numbers)


def test_no_level_is_unspecified_and_an_unknown_one_keeps_its_text():
    assert severity(None) == (0, "")
    assert severity("verbose") == (0, "verbose")
    assert severity(3) == (0, "3")
