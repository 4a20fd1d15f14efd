"""`ndjson`: one entry per line in the sink's `format` (json by default); the body is the
lines as they are (`application/x-ndjson`)."""

from __future__ import annotations

from typing import Any

from logproc.sinks.formats import build_formatter
from logproc.sinks.http.encoders import Encoding


def body(chunks: list[bytes]) -> bytes:
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def build(cfg: Any) -> Encoding:
    return Encoding("ndjson", "application/x-ndjson", build_formatter(cfg), body)
