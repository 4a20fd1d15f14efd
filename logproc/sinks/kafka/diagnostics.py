"""librdkafka's error reports and log lines, as events of logproc's own log.

librdkafka reports trouble two ways, both served in the sink's thread while it polls:
- `error(err)` (confluent_kafka's `error_cb`): client-wide errors: all brokers down, a
  transport or TLS failure, authentication refused, a fatal producer error. A broker
  outage repeats them every reconnect: the first of each kind in an episode is logged
  (warning; a fatal one as an error), the rest are counted, and `recovered()` (called
  once a write is delivered) logs one info line naming the kinds seen, with their counts;
- `log(level, fmt, *args)` (confluent_kafka's `logger`): librdkafka's own lines, with
  Python's level. Warnings and worse are logged at most once per `LOG_INTERVAL` per
  facility (they mostly repeat what `error` said), the rest at debug level.

Nothing of the client's settings is ever logged; everything passes through the log's
masking like any other event.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from logproc.log import get_logger

log = get_logger("sink")
LOG_INTERVAL = 60.0  # seconds between two librdkafka warning lines of one facility


class Diagnostics:
    """What one kafka sink's client reports; see the module doc."""

    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.trouble: dict[str, int] = {}  # error kinds seen in the current episode: count
        self._logged: dict[str, float] = {}  # librdkafka facility: when last logged

    def error(self, err: Any) -> None:
        name = err.name()
        seen = self.trouble.get(name, 0)
        self.trouble[name] = seen + 1
        if err.fatal():
            log.error("kafka producer failed fatally; it is built again and the records not yet "
                      "delivered are produced again", sink=self.sink, error=err.str(), code=name)
        elif not seen:
            log.warning("kafka brokers failing; records wait, unacknowledged, and are retried "
                        "until delivered", sink=self.sink, error=err.str(), code=name)

    def recovered(self) -> None:
        if self.trouble:
            log.info("kafka delivers again", sink=self.sink, after=dict(sorted(self.trouble.items())))
            self.trouble = {}

    def log(self, level: int, fmt: str, *args: Any) -> None:
        """confluent_kafka's logger interface: `fmt % args` is "FACILITY [client] text"."""
        text = fmt % args if args else fmt
        facility = str(args[0]) if args else ""
        if level < logging.WARNING:
            log.debug("librdkafka", sink=self.sink, detail=text)
            return
        now = time.monotonic()
        if now - self._logged.get(facility, -LOG_INTERVAL) < LOG_INTERVAL:
            return
        self._logged[facility] = now
        log.warning("librdkafka", sink=self.sink, detail=text)
