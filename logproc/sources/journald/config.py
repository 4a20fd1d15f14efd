"""The `journald` source's config: which journal, which entries, where a first start begins.

Checks made here, at load time (so `logproc check` and a reload report them):
- `units`: unit names; a name without a "." is a service (`nginx` is `nginx.service`, as
  systemctl reads it); globs are not supported (journalctl matches exact values);
- `match`: journal field names as the journal spells them (upper case, digits, `_`, not
  starting with a digit); `_SYSTEMD_UNIT` only when `units` is empty (both would be
  alternatives of one field in journalctl, not "all must match");
- `directory`: must exist and be a folder now. Decision: a missing folder is a config
  error, not a warning — the key names one journal explicitly, and reading nothing from
  it in silence would look like a quiet service.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from logproc.config.fields import path_problem
from logproc.config.suggest import quote
from logproc.sources.base import SourceBase

_FIELD_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_UNIT = re.compile(r"[A-Za-z0-9:_.@\\-]{1,256}")


class JournaldSourceConfig(SourceBase):
    type: Literal["journald"] = Field(description='"journald": the systemd journal, read through '
                                      "`journalctl`, resumed at the cursor of the last entry delivered.")
    units: list[str] = Field(default=[], description="Units whose entries are read (`_SYSTEMD_UNIT`, "
                             'exact names; "nginx" means "nginx.service"); empty: every entry.')
    match: dict[str, str] = Field(default={}, description="Journal field = value pairs an entry must "
                                  'all have, such as { _TRANSPORT = "kernel" }.')
    start_at: Literal["beginning", "end"] = Field(
        default="end", description="For a first start with no checkpoint: the whole journal, or "
        "only entries written from now on.")
    directory: str | None = Field(default=None, description="A folder of journal files to read "
                                  "instead of this machine's journal (journalctl --directory).")

    @field_validator("units")
    @classmethod
    def _units(cls, units: list[str]) -> list[str]:
        out = []
        for unit in units:
            if not _UNIT.fullmatch(unit):
                raise ValueError(f"invalid unit name {quote(unit)}")
            out.append(unit if "." in unit else unit + ".service")
        return out

    @field_validator("match")
    @classmethod
    def _match(cls, match: dict[str, str]) -> dict[str, str]:
        for name, value in match.items():
            if not _FIELD_NAME.fullmatch(name):
                raise ValueError(f"invalid journal field name {quote(name)}: upper-case letters, digits "
                                 'and "_", not starting with a digit')
            if "\0" in value or "\n" in value:
                raise ValueError(f"the value of {name} cannot hold a NUL or a newline")
        return match

    @field_validator("directory")
    @classmethod
    def _directory(cls, directory: str | None) -> str | None:
        if directory is None:
            return None
        problem = "must not be empty" if directory == "" else path_problem(directory)
        if problem:
            raise ValueError(problem)
        if not os.path.isdir(directory):
            raise ValueError(f"no such folder: {quote(directory)}" if not os.path.exists(directory)
                             else f"not a folder: {quote(directory)}")
        return directory

    @model_validator(mode="after")
    def _unit_once(self) -> JournaldSourceConfig:
        if self.units and "_SYSTEMD_UNIT" in self.match:
            raise ValueError("give units either in `units` or as match._SYSTEMD_UNIT, not both")
        return self

    def matches(self) -> list[str]:
        """The journalctl match arguments: units are alternatives of one field, the other
        fields must all match (journalctl ANDs different fields, ORs values of one)."""
        return [f"_SYSTEMD_UNIT={u}" for u in self.units] + [f"{k}={v}" for k, v in self.match.items()]
