"""The `http` sink: POSTs the encoded units of each write in requests, retrying forever.

Contract (`write(deliveries)`, called by the runner, which acks them all when it returns):
- the deliveries are cut into requests within `batch_max_entries` / `batch_max_bytes`
  (`batching.plan`), each one encoded by the encoding's request half and, with `gzip`,
  compressed; with `concurrency > 1` up to that many requests are in flight at once (a
  small thread pool), and `write` returns when every request is settled, so the runner's
  acks, and the checkpoints, keep file order;
- 2xx: delivered. 408, 429, 5xx, timeouts and connection errors: retried, forever, after
  an exponential backoff with full jitter capped by `retry_max_backoff`, and at least the
  `Retry-After` the server asked for (capped the same way: a server asking for an hour
  does not stall the pipeline past the configured cap). Any other status: the request's
  entries go to the dead-letter file with the status and the first 4 KiB of the response;
  when the write was that one request, by raising `FatalSinkError` (the runner dead-letters
  and counts them); when it was one of several, here, so delivered neighbours are not
  dead-lettered as well;
- `elasticsearch`: a 2xx whose body says `"errors": true` is read item by item; items with
  429 or 5xx are sent again (alone, with the same backoff); a 409 under `create` is a
  document the index already has (the same `_id`: this entry, delivered before a crash
  or a lost response), counted in `duplicates` and delivered, never sent again nor
  dead-lettered; the others are dead-lettered with their status and error reason; a bulk
  response that cannot be read item by item is a failure of the whole request
  (dead-lettered): re-sending it could duplicate it all;
- shutdown: the runner passes its abort event (`set_abort`); once set, retrying stops and
  `write` raises `RetriableSinkError`, so nothing is acknowledged. A request already
  sent is bounded by `timeout`;
- logging: one warning when a failure episode starts (and when its kind changes: refused,
  then 503), with the sink, the status or error and the next delay; one info line when
  requests succeed again. Never a header, never the URL's user-info.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from logproc.errors import FatalSinkError, RetriableSinkError
from logproc.log import get_logger
from logproc.sinks.base import Delivery, Sink, noop
from logproc.sinks.deadletter import DeadLetters
from logproc.sinks.http.batching import Request, plan
from logproc.sinks.http.client import HttpClient, Outcome
from logproc.sinks.http.encoders import build_encoding
from logproc.sinks.http.encoders.elasticsearch import failures, is_duplicate
from logproc.sinks.retry import Backoff

log = get_logger("sink")
RESPONSE_KEPT = 4096  # bytes of a refusing response kept in the dead-letter file
BACKOFF_BASE = 0.2


def retriable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


class Aborted(RetriableSinkError):
    """The runner's shutdown deadline passed while a request was being retried."""


class HttpSink(Sink):
    def __init__(self, name: str, cfg: Any, dead_letters: DeadLetters) -> None:
        self.name = name
        self.encoding = build_encoding(cfg)
        self.max_entries: int = cfg.batch_max_entries
        self.max_bytes: int = cfg.batch_max_bytes
        self.max_backoff: float = cfg.retry_max_backoff
        self.concurrency: int = cfg.concurrency
        self.dead_letters = dead_letters
        self.client = HttpClient(cfg.url, cfg.headers, self.encoding.content_type, cfg.timeout,
                                 tls=cfg.client_tls(), maxsize=cfg.concurrency, gzip=cfg.gzip)
        self._abort = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._trouble: set[str] = set()  # failure kinds logged in the current episode
        self.requests = 0
        self.retries = 0
        self.dead_lettered = 0  # entries dead-lettered here (item failures, one of several requests)
        self.duplicates = 0  # bulk items the index already had (409 under create): delivered
        self.last_attempt = 0.0  # monotonic time the latest attempt may run to (daemon.liveness)
        self.request_timeout = cfg.timeout

    def set_abort(self, event: threading.Event) -> None:
        """The runner's abort event: once set, stop retrying."""
        self._abort = event

    # -- the runner's side -------------------------------------------------------------
    def write(self, deliveries: list[Delivery]) -> None:
        requests = plan(deliveries, self.max_entries, self.max_bytes)
        if not requests:
            return
        if len(requests) == 1:
            self._deliver(requests[0])  # FatalSinkError: the runner dead-letters the write
            return
        fatal: list[tuple[Request, FatalSinkError]] = []
        aborted = False
        if self.concurrency == 1:
            for req in requests:
                try:
                    self._deliver(req)
                except FatalSinkError as exc:
                    fatal.append((req, exc))
        else:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"sink-{self.name}")
            futures = [(req, self._executor.submit(self._deliver, req)) for req in requests]
            for req, fut in futures:
                try:
                    fut.result()
                except FatalSinkError as refused:
                    fatal.append((req, refused))
                except Aborted:
                    aborted = True
        if aborted:  # nothing is acknowledged: all of it is read and sent again after a restart
            raise Aborted("stopped retrying: shutdown deadline passed")
        for req, err in fatal:  # some requests of this write were delivered: only these go
            self._dead_letter(str(err), req.as_delivery(), err.status, err.response)

    def reopen(self) -> None:
        """Nothing to reopen (connections are re-established as needed)."""

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.client.close()

    # -- one request, until settled ----------------------------------------------------
    def _deliver(self, req: Request) -> None:
        """Send `req` until delivered; raise FatalSinkError for a refusal of all of it,
        Aborted when the runner gives up. Bulk item failures are settled here."""
        chunks, entries, whole = req.chunks, req.entries, True
        body = self.encoding.body(chunks)
        backoff = Backoff(BACKOFF_BASE, self.max_backoff)
        while True:
            if self._abort.is_set():
                raise Aborted("stopped retrying: shutdown deadline passed")
            # liveness: a request may take `timeout`; past that it is stuck
            self.last_attempt = time.monotonic() + self.request_timeout
            out = self.client.post(body)
            with self._lock:
                self.requests += 1
            if out.ok and self.encoding.bulk:
                try:
                    again = self._bulk_items(out, chunks, entries, req.source)
                except ValueError as exc:
                    reason = f"unreadable bulk response: {exc}"
                    if whole:
                        raise FatalSinkError(reason, out.status, self._text(out.body)) from None
                    self._dead_letter(reason, _units(chunks, req.source), out.status, self._text(out.body))
                    return
                if not again:
                    self._recovered()
                    return
                chunks, entries, whole = again, len(again), False
                body = self.encoding.body(chunks)
                out = Outcome(429, error="bulk items refused for now")  # 429 or 5xx per item
            elif out.ok:
                self._recovered()
                return
            elif out.status and not retriable_status(out.status):
                reason = f"HTTP {out.status} from the server"
                if whole:
                    raise FatalSinkError(reason, out.status, self._text(out.body))
                self._dead_letter(reason, _units(chunks, req.source), out.status, self._text(out.body))
                return
            delay = backoff.next(at_least=out.retry_after or 0.0)
            self._failed(out, delay, entries)
            self.last_attempt = time.monotonic() + delay  # liveness: a planned wait
            if self._abort.wait(delay):
                raise Aborted("stopped retrying: shutdown deadline passed")

    def _bulk_items(self, out: Outcome, chunks: list[bytes], entries: int, source: str) -> list[bytes]:
        """Settle the failed items of a bulk response: dead-letter the refused ones, return
        the units to send again ([] when none; ValueError when items cannot be told apart)."""
        failed = failures(out.body, entries)
        if not failed:
            return []
        units = b"".join(chunks).split(b"\n")
        again: list[bytes] = []
        duplicates = 0
        for pos, status, reason, item in failed:
            if is_duplicate(status, item):
                duplicates += 1
            elif retriable_status(status):
                again.append(units[pos] + b"\n")
            else:
                unit = Delivery(source, units[pos] + b"\n", 1, noop)
                self._dead_letter(f"bulk item refused: {reason}", unit, status, item[:RESPONSE_KEPT])
        if duplicates:
            with self._lock:
                self.duplicates += duplicates
            log.info("entries already in the index (sent again after a crash or a lost answer): "
                     "delivered", sink=self.name, duplicates=duplicates)
        return again

    # -- bookkeeping ------------------------------------------------------------------
    @staticmethod
    def _text(body: bytes) -> str:
        return body[:RESPONSE_KEPT].decode("utf-8", "replace")

    def _dead_letter(self, reason: str, d: Delivery, status: int | None, response: str | None) -> None:
        written = self.dead_letters.write(self.name, reason, [d], status, response)  # logs it too
        with self._lock:
            self.dead_lettered += written

    def _failed(self, out: Outcome, delay: float, entries: int) -> None:
        kind = f"HTTP {out.status}" if out.status else out.error.split(":", 1)[0]
        with self._lock:
            self.retries += 1
            first = kind not in self._trouble
            self._trouble.add(kind)
        if first:
            log.warning("http request failed, retrying until it succeeds", sink=self.name,
                        status=out.status or None, error=out.error or None, entries=entries,
                        retry_in=round(delay, 3))

    def _recovered(self) -> None:
        if self._trouble:
            with self._lock:
                kinds, self._trouble = self._trouble, set()
            if kinds:
                log.info("http requests succeed again", sink=self.name, after=sorted(kinds))


def _units(chunks: list[bytes], source: str) -> Delivery:
    data = b"".join(chunks)
    return Delivery(source, data, data.count(b"\n"), noop)
