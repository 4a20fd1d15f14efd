"""The `otlp` sink: the http sink (`logproc.sinks.http.sink.HttpSink`) with the OTLP
encoding, the OTLP retry rules and partial success.

Reused unchanged from the http sink: cutting writes into requests within
`batch_max_entries` / `batch_max_bytes` (the bound counts unit bytes: base64 for
http/protobuf, so a protobuf body is about 3/4 of it), `concurrency`, the urllib3 client
(keep-alive, gzip, headers), the backoff with full jitter capped by `retry_max_backoff`
and at least the `Retry-After` asked for, the abort at the shutdown deadline, liveness
and the failure-episode logging. Its constructor sets that bookkeeping up from the http
view of this config; the encoding and the client are then replaced by OTLP's.

Different, as the OTLP/HTTP specification says:
- retried: 429, 502, 503, 504 and no response (refused, reset, timed out): forever, with
  the backoff above. Every other status is final: "All other 4xx or 5xx response status
  codes MUST NOT be retried" (so 500 and 408 are dead-lettered, unlike the http sink); the
  reason names the status and the `google.rpc.Status` message of the answer;
- a 2xx with `partial_success`: the request was accepted and is not sent again (the
  specification: the client MUST NOT retry it). `rejected_log_records > 0`: the receiver
  dropped that many records without saying which, so **the whole request** goes to the
  dead-letter file, each line's reason saying "the receiver rejected N of these M records
  (it does not say which; the others were accepted)". Only N are counted dead-lettered
  (metrics), the others written. Re-sending those dead letters wholesale duplicates the
  accepted ones: the reason says so. A warning with the receiver's `error_message` is
  logged once per distinct message, like an `error_message` with 0 rejected (a warning
  from the receiver on a full success);
- dead letters are OTLP/JSON `ResourceLogs` lines for both protocols (`body.readable`):
  the sink writes them itself, also when a write was one refused request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from logproc.errors import FatalSinkError
from logproc.log import get_logger
from logproc.sinks.base import Delivery, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.http.batching import Request
from logproc.sinks.http.config import HttpSinkConfig
from logproc.sinks.http.sink import BACKOFF_BASE, Aborted, HttpSink
from logproc.sinks.otlp.body import readable
from logproc.sinks.otlp.parts import build_client, build_encoding
from logproc.sinks.otlp.response import partial_success, refusal_text
from logproc.sinks.retry import Backoff

log = get_logger("sink")
RETRIABLE = frozenset((429, 502, 503, 504))
MESSAGES_KEPT = 64  # distinct receiver messages remembered (each logged once)


def http_view(cfg: Any) -> HttpSinkConfig:
    """The keys HttpSink's constructor reads, from an otlp config (not validated again)."""
    keys = ("headers", "gzip", "batch_max_entries", "batch_max_bytes", "batch_timeout", "timeout",
            "retry_max_backoff", "concurrency")
    return HttpSinkConfig.model_construct(type="http", url=cfg.endpoint, **{k: getattr(cfg, k) for k in keys})


class OtlpSink(HttpSink):
    def __init__(self, name: str, cfg: Any, dead_letters: DeadLetters) -> None:
        super().__init__(name, http_view(cfg), dead_letters)
        self.client.close()  # the http view's client: no connection was made
        self.encoding = build_encoding(cfg)
        self.client = build_client(cfg, self.encoding.content_type)
        self.protobuf = cfg.protocol == "http/protobuf"
        self._messages: set[str] = set()
        self._messages_lock = threading.Lock()

    def write(self, deliveries: list[Delivery]) -> None:
        try:
            super().write(deliveries)
        except FatalSinkError as exc:  # the write was one request, refused: dead-lettered here
            n = sum(d.entries for d in deliveries)
            whole = Delivery(deliveries[0].source, b"".join(d.payload for d in deliveries), n, noop)
            self._dead_letter(str(exc), whole, exc.status, exc.response)

    # -- one request, until settled ----------------------------------------------------
    def _deliver(self, req: Request) -> None:
        body = self.encoding.body(req.chunks)
        backoff = Backoff(BACKOFF_BASE, self.max_backoff)
        while True:
            if self._abort.is_set():
                raise Aborted("stopped retrying: shutdown deadline passed")
            self.last_attempt = time.monotonic() + self.request_timeout  # liveness
            out = self.client.post(body)
            with self._lock:
                self.requests += 1
            if out.ok:
                self._recovered()
                self._settle(out.body, out.status, req)
                return
            if out.status and out.status not in RETRIABLE:
                message = refusal_text(out.body)
                reason = f"HTTP {out.status} from the server" + (f": {message}" if message else "")
                raise FatalSinkError(reason, out.status, message or self._text(out.body))
            delay = backoff.next(at_least=out.retry_after or 0.0)
            self._failed(out, delay, req.entries)
            self.last_attempt = time.monotonic() + delay  # liveness: a planned wait
            if self._abort.wait(delay):
                raise Aborted("stopped retrying: shutdown deadline passed")

    def _settle(self, body: bytes, status: int, req: Request) -> None:
        """A 2xx: read its partial success (see the module doc)."""
        rejected, message = partial_success(body)
        if rejected <= 0:
            if message:
                self._say("the OTLP receiver accepted every record, with a message", message, 0)
            return
        rejected = min(rejected, req.entries)
        self._say("the OTLP receiver rejected records (partial success); this request's records "
                  "go to the dead-letter file", message, rejected)
        reason = (f"partial success: the receiver rejected {rejected} of these {req.entries} records "
                  f"(it does not say which; the others were accepted): {message or 'no message'}")
        d = req.as_delivery()
        if self.protobuf:
            d.payload = readable(d.payload)
        self.dead_letters.write(self.name, reason, [d], status, message)  # logs it too
        with self._lock:
            self.dead_lettered += rejected

    def _dead_letter(self, reason: str, d: Delivery, status: int | None, response: str | None) -> None:
        if self.protobuf:
            d = Delivery(d.source, readable(d.payload), d.entries, noop)
        super()._dead_letter(reason, d, status, response)

    def _say(self, what: str, message: str, rejected: int) -> None:
        with self._messages_lock:
            if message in self._messages:
                return
            if len(self._messages) >= MESSAGES_KEPT:
                self._messages.clear()
            self._messages.add(message)
        log.warning(what, sink=self.name, error_message=message, rejected=rejected or None)
