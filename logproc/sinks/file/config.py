"""The `file` sink's config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from logproc.config.fields import PathText
from logproc.sinks.base import SinkBase


class FileSinkConfig(SinkBase):
    type: Literal["file"] = Field(description='"file": formatted entries appended to a file.')
    path: PathText = Field(
        min_length=1, description="The file to append to; relative paths are relative to the config "
        "file's folder. May contain `{source}` (one file per source), as a whole path component.")
    fsync: bool = Field(
        default=False, description="fsync after every write: an acknowledged entry survives a power "
        "loss, at a cost in speed.")
