"""Per-file turns: batches finished out of order are handed over in sequence order."""

from __future__ import annotations

import random
import threading

from logproc.pipeline.turn import Turn


def test_submissions_follow_sequence_order_whatever_order_work_finishes() -> None:
    turn = Turn()
    order: list[int] = []
    rng = random.Random(7)
    delays = [rng.random() / 200 for _ in range(40)]
    start = threading.Barrier(40)

    def consumer(seq: int) -> None:
        start.wait()
        threading.Event().wait(delays[seq])  # "computing", for a random while
        assert turn.wait(seq, timeout=10)
        order.append(seq)
        turn.done(seq)

    threads = [threading.Thread(target=consumer, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert order == list(range(40))


def test_a_batch_whose_predecessor_never_finishes_waits() -> None:
    turn = Turn()
    assert turn.wait(0, timeout=0.01)
    assert not turn.wait(1, timeout=0.05)  # batch 0 never done: batch 1 does not go
    turn.done(0)
    assert turn.wait(1, timeout=0.01)
