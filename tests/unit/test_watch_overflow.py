"""An inotify overflow is counted, wakes every source and is one warning a minute, not one
plain-text line per watch from the library (issue: 43 such lines in a 10-minute soak)."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest
from watchdog.events import EventsLostEvent, FileModifiedEvent

from logproc.pipeline import events as watch


def test_overflow_counted_logged_once_and_wakes_every_source(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = watch._Overflows()
    monkeypatch.setattr(watch, "events_lost", counter)
    warnings: list[dict] = []
    monkeypatch.setattr(watch.log, "warning", lambda event, **kw: warnings.append({"event": event, **kw}))
    sources = [SimpleNamespace(wake=threading.Event()) for _ in range(3)]
    waker = watch._Waker(sources)  # type: ignore[arg-type]
    waker.on_any_event(FileModifiedEvent("/var/log/a.log"))
    assert counter.count == 0
    for _ in range(5):
        waker.on_any_event(EventsLostEvent("/var/log", is_directory=True))
    assert counter.count == 5
    assert all(s.wake.is_set() for s in sources)
    assert [(w["folder"], w["overflows"], w["total"]) for w in warnings] == [("/var/log", 1, 1)]
    assert warnings[0]["event"].startswith("inotify queue overflowed, file events were lost")


def test_the_library_line_for_it_is_dropped() -> None:
    record = logging.LogRecord("watchdog.observers.inotify_c", logging.WARNING, "x", 1,
                               "Inotify queue overflowed; filesystem events were lost", None, None)
    other = logging.LogRecord("watchdog.observers.inotify_c", logging.WARNING, "x", 1, "Unable to watch %r",
                              ("/x",), None)
    logger = logging.getLogger("watchdog.observers.inotify_c")
    assert not logger.filter(record)
    assert logger.filter(other)
