"""The `file` source's config (the default kind: a source without `type`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from logproc.config.fields import PathText, Regex, TimeZone, check_regex
from logproc.config.suggest import quote
from logproc.sources.base import SourceBase


class MultilineConfig(BaseModel):
    """A line that does not match `start` continues the entry before it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Regex = Field(description="A regex found at the start of every first line of an entry.")
    timeout: float = Field(default=1.0, gt=0, le=3600, description="Seconds after which an entry "
                           "with no next first line is complete.")


class FileSourceConfig(SourceBase):
    type: Literal["file"] = Field(default="file", description='"file" (the default): files matched '
                                  "by globs, followed through rotation, truncation and compression.")
    paths: list[PathText] = Field(
        min_length=1, description="Globs of the files to read (`*`, `?`, `[…]`, `**` for any depth); "
        "files created later are picked up.")
    exclude: list[PathText] = Field(default=[], description="Globs of files not to read, matched "
                                    "against the whole path or the file name.")
    start_at: Literal["beginning", "end"] = Field(
        default="beginning", description="For files present at start-up with no checkpoint: read "
        "them whole, or only what is written from now on. Files that appear later are read whole.")
    parser: Literal["plain", "json", "logfmt", "regex", "syslog", "combined", "common"] = Field(
        default="plain", description="How a line becomes an entry's fields.")
    # validate_default: a regex parser with no pattern must be reported.
    pattern: str | None = Field(default=None, validate_default=True, description='parser = "regex": '
                                "a regex whose named groups become fields.")
    max_line_bytes: int = Field(default=1048576, ge=64, le=256 << 20, description="Longer lines are "
                                "cut into pieces of this size (each an entry with `line_part`).")
    timezone: TimeZone = Field(default="local", description='For times written without a zone: '
                               '"local", "UTC" or an IANA name.')
    multiline: MultilineConfig | None = Field(default=None, description="Entries that span lines.")

    @field_validator("pattern")
    @classmethod
    def _pattern_fits_parser(cls, pattern: str | None, info: ValidationInfo) -> str | None:
        parser = info.data.get("parser")  # absent when `parser` itself is invalid: nothing to say
        if parser == "regex" and pattern is None:
            raise ValueError('missing required key "pattern" (parser = "regex" needs it)')
        if parser is not None and parser != "regex" and pattern is not None:
            raise ValueError(f'only used with parser = "regex", not parser = {quote(parser)}')
        if pattern is not None and not check_regex(pattern).groupindex:
            raise ValueError("the pattern needs at least one named group, such as (?P<message>.*)")
        return pattern


SourceConfig = FileSourceConfig  # the name the file source had when it was the only kind
