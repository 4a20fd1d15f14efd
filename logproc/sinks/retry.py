"""Retry delays: exponential backoff with full jitter (the caller waits them out on its
stop event, so a shutdown never waits for a delay to pass).

`Backoff.next()` returns a uniformly random delay in [0, min(cap, base * 2**n)] (AWS's "full
jitter"): many retrying clients spread out instead of stampeding a recovering server.
"""

from __future__ import annotations

import errno
import random

#: Appended to a connection refused with EPERM: no peer said no, the host's own policy did.
BLOCKED_HINT = ("; refused by this host's policy (a firewall, or the systemd unit's "
                "IPAddressDeny=: allow the address with IPAddressAllow= in a drop-in)")


def blocked_hint(exc: BaseException) -> str:
    """`BLOCKED_HINT` when `exc` (or what caused it) is an EPERM from the network stack."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno == errno.EPERM:
            return BLOCKED_HINT
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "reason", None)
    return BLOCKED_HINT if "[Errno 1] Operation not permitted" in str(exc) else ""


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
