"""Is the pipeline alive and moving? One answer for the systemd watchdog and `/health`.

`problems(...)` lists what is wrong, as short operator-facing strings (empty: healthy):

- a thread that should run is dead (a source's thread — unless it was told to stop: a reload
  is replacing it —, a consumer, a sink runner, the committer);
- a consumer has held one batch for longer than `stall` seconds, unless it is waiting to
  hand it to a sink runner that is itself alive (backpressure from a slow or failing
  sink is not a wedge: the lines wait in their files) or for its file's earlier batch to
  be handed over by another consumer (that one is judged itself);
- a sink runner has been inside one write attempt for longer than `stall` seconds.
  Retries count as life: each attempt, and each attempt a sink makes internally (a sink
  may expose `last_attempt`, monotonic seconds), restarts the clock.

Decision: "no entry written for N seconds" was rejected as the test: an idle source or a
sink that is down and retrying is not a wedge, and systemd restarting logproc would not
bring a down endpoint back. What the watchdog must catch is a thread stuck in one call.

`stall` defaults to 60 s; `$LOGPROC_STALL_SECONDS` changes it (tests use a few seconds).
Reading the attributes is lock-free: they are plain floats written by their own thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

DEFAULT_STALL = 60.0


def stall_seconds() -> float:
    try:
        return max(0.5, float(os.environ.get("LOGPROC_STALL_SECONDS", DEFAULT_STALL)))
    except ValueError:
        return DEFAULT_STALL


def runner_stuck(runner: Any, now: float, stall: float) -> bool:
    if not runner.busy_since:
        return False
    last: float = max(runner.attempt_at, getattr(runner.sink, "last_attempt", 0.0))
    return now - last > stall


def problems(sources: Iterable[Any], consumers: Iterable[Any], runners: Iterable[Any],
             committer: Any, stall: float, now: float | None = None) -> list[str]:
    now = time.monotonic() if now is None else now
    out: list[str] = []
    for s in sources:
        if not s.alive and not s.stopping:
            out.append(f"source {s.name!r} is not running")
    runners = list(runners)
    for r in runners:
        if not r.thread.is_alive():
            out.append(f"sink {r.name!r} is not running")
        elif runner_stuck(r, now, stall):
            out.append(f"sink {r.name!r} has been stuck in one write for {now - r.busy_since:.0f}s")
    for c in consumers:
        name = c.thread.name
        if not c.thread.is_alive():
            out.append(f"{name} is not running")
        elif c.busy_since and now - c.busy_since > stall:
            target = c.waiting_on
            if not hasattr(target, "thread"):
                # computing (target None), or waiting for its file's earlier batch to be
                # submitted by another consumer (its lease's turn): that one is judged on its own
                if target is None:
                    out.append(f"{name} has been stuck on one batch for {now - c.busy_since:.0f}s")
            elif not target.thread.is_alive() or runner_stuck(target, now, stall):
                out.append(f"{name} has been stuck on one batch for {now - c.busy_since:.0f}s")
    if committer is not None and not committer.thread.is_alive():
        out.append("the checkpoint committer is not running")
    return out
