"""Per-stage micro-benchmarks (pytest-benchmark). Not part of the test run (pyproject's
testpaths is tests/); run them on their own:

    .venv/bin/pytest bench/micro -q --benchmark-columns=min,median,ops --benchmark-sort=name

Each benchmark handles one batch of ``BATCH`` lines taken from a generated corpus shaped
like shared/bench's (JSON app log, nginx combined, logfmt); divide a time by ``BATCH`` for
the cost per line.
"""

from __future__ import annotations

import random

import orjson
import pytest

BATCH = 1500  # about what one 256 KiB read gives on these corpora


def _json_lines(n: int) -> list[bytes]:
    rnd = random.Random(1)
    levels = ["debug", "info", "info", "warn", "error"]
    return [orjson.dumps({
        "timestamp": f"2024-05-01T00:00:{i % 60:02d}.{i % 1000:03d}Z", "level": rnd.choice(levels),
        "logger": "app.worker.billing",
        "message": f"cache miss for key user:{rnd.randrange(10**6)}:profile",
        "request_id": f"{rnd.getrandbits(64):016x}", "user_id": rnd.randrange(10**6),
        "duration_ms": round(rnd.random() * 10, 2),
    }) for i in range(n)]


def _nginx_lines(n: int) -> list[bytes]:
    rnd = random.Random(2)
    return [(f'{rnd.randrange(256)}.{rnd.randrange(256)}.1.{rnd.randrange(256)} - - '
             f'[01/May/2024:00:00:{i % 60:02d} +0000] "GET /api/v1/orders/{rnd.randrange(10**6)} HTTP/1.1" '
             f'200 {rnd.randrange(50000)} "https://www.example.com/" '
             f'"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"').encode()
            for i in range(n)]


def _logfmt_lines(n: int) -> list[bytes]:
    return [f'ts=2024-05-01T00:00:{i % 60:02d}Z level=info msg="request done" path=/x/{i} status=200 '
            f"took={i % 97}ms".encode() for i in range(n)]


@pytest.fixture(scope="session")
def json_lines() -> list[bytes]:
    return _json_lines(BATCH)


@pytest.fixture(scope="session")
def nginx_lines() -> list[bytes]:
    return _nginx_lines(BATCH)


@pytest.fixture(scope="session")
def logfmt_lines() -> list[bytes]:
    return _logfmt_lines(BATCH)
