"""``parser = "plain"``: the line is the message; no fields, no level, the read time.

Every line parses, so the parse-error count is always 0.
"""

from __future__ import annotations

from logproc.transforms.base import Entry, Parser
from logproc.transforms.timestamps import format_epoch


def build_plain_parser(name: str, host: str) -> Parser:
    """The plain parser of source ``name``."""

    def parse(lines: list[bytes], path: str, read_time: float) -> tuple[list[Entry], int]:
        ts = format_epoch(read_time)
        return [
            {"timestamp": ts, "message": line.decode("utf-8", "replace"), "source": name,
             "file": path, "host": host}
            for line in lines
        ], 0

    return parse
