"""The `stdout` sink's config: nothing beyond the keys every sink has."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from logproc.sinks.base import SinkBase


class StdoutSinkConfig(SinkBase):
    type: Literal["stdout"] = Field(description='"stdout": formatted entries on standard output.')
