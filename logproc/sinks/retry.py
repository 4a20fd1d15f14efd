"""Retry with exponential backoff and full jitter, sleeping on a stop event.

`Backoff.next()` returns a uniformly random delay in [0, min(cap, base * 2**n)] (AWS's "full
jitter"): many retrying clients spread out instead of stampeding a recovering server.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, base: float = 0.1, cap: float = 30.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next(self, at_least: float = 0.0) -> float:
        delay = random.uniform(0, min(self.cap, self.base * (2 ** min(self.attempt, 32))))
        self.attempt += 1
        return max(delay, min(at_least, self.cap))

    def reset(self) -> None:
        self.attempt = 0
