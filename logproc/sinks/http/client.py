"""One HTTP endpoint over urllib3: one connection pool per sink, keep-alive, no retries of
its own (the sink decides).

TLS (an `https://` URL): the pool's connections use `tls.client_context()` (the server
verified against `ca_file` or the system's CAs unless `verify = false`, a client
certificate when given), with `server_name` as the name sent (SNI) and checked. Without
a `tls` table: the system's CAs, the URL's host checked.

`HttpClient.post(body)` never raises for network trouble: it returns an `Outcome` holding
the status, the `Retry-After` delay and (the first `MAX_RESPONSE` bytes of) the response,
or the error text when no response came (refused, reset, timed out, TLS failure).

Secrets: header values (`Authorization`, API keys) and the URL's user-info are sent, never
logged or put in an error text; error texts name the failure, not the request.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

import urllib3
from urllib3.exceptions import HTTPError, InsecureRequestWarning
from urllib3.util import Timeout, make_headers, parse_url

from logproc import __version__
from logproc.config.tls import TlsConfig
from logproc.sinks.retry import blocked_hint

MAX_RESPONSE = 1 << 20  # response bytes kept; the rest is discarded with the connection
GZIP_LEVEL = 3  # rejected 6 (zlib's default): ~2x the CPU for a few % smaller logs bodies


@dataclass(slots=True)
class Outcome:
    status: int = 0  # 0: no response
    body: bytes = b""
    retry_after: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """A `Retry-After` header in seconds from now (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_OBJECT_REPR = re.compile(r"<[^<>]*object at 0x[0-9a-f]+>:?\s*")


def describe(exc: BaseException) -> str:
    """A short failure text: urllib3's messages carry connection object reprs, not needed."""
    text = _OBJECT_REPR.sub("", str(exc)).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}{blocked_hint(exc)}"


def gzip_body(body: bytes) -> bytes:
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    return z.compress(body) + z.flush()


def tls_options(tls: TlsConfig) -> dict[str, Any]:
    """The urllib3 pool arguments of a `tls` table (its context is built here: the files are
    read now; OSError / ssl.SSLError when they do not load)."""
    ctx = tls.client_context()
    kw: dict[str, Any] = {"ssl_context": ctx, "cert_reqs": ctx.verify_mode}
    if tls.server_name is not None:
        kw["server_hostname"] = tls.server_name  # SNI, and the name the context checks
    if not tls.verify:
        kw["assert_hostname"] = False
        urllib3.disable_warnings(InsecureRequestWarning)  # logged once when the sink is built
    return kw


class HttpClient:
    def __init__(self, url: str, headers: dict[str, str], content_type: str, timeout: float,
                 tls: TlsConfig | None = None, maxsize: int = 1, gzip: bool = False) -> None:
        parsed = parse_url(url)
        self.path = parsed.request_uri
        self.gzip = gzip
        self.headers = urllib3.HTTPHeaderDict({"Content-Type": content_type,
                                               "User-Agent": f"logproc/{__version__}"})
        if parsed.auth:  # urllib3 does not send user-info itself; it is percent-encoded in a URL
            user, _, password = parsed.auth.partition(":")
            self.headers.update(make_headers(basic_auth=f"{unquote(user)}:{unquote(password)}"))
        for key, value in headers.items():
            self.headers[key] = value  # case-insensitive: a configured Content-Type wins
        if gzip:
            self.headers["Content-Encoding"] = "gzip"
        kw: dict[str, Any] = {}
        if parsed.scheme == "https":
            kw.update(tls_options(tls or TlsConfig()))
        bare = parsed._replace(auth=None).url
        # block=True: at most `maxsize` connections, one per request in flight
        self.pool = urllib3.connection_from_url(bare, maxsize=maxsize, block=True, retries=False,
                                                timeout=Timeout(connect=timeout, read=timeout), **kw)

    def post(self, body: bytes) -> Outcome:
        if self.gzip:
            body = gzip_body(body)
        try:
            resp = self.pool.urlopen("POST", self.path, body=body, headers=self.headers, retries=False,
                                     redirect=False, preload_content=False, assert_same_host=False)
        except (HTTPError, OSError) as exc:  # OSError: a socket error urllib3 did not wrap
            return Outcome(error=describe(exc))
        try:
            data = resp.read(MAX_RESPONSE + 1)
            whole = len(data) <= MAX_RESPONSE
        except (HTTPError, OSError) as exc:
            # the status came, the body broke off: that is the status's outcome all the same
            data, whole = str(exc).encode(), False
        if whole:
            resp.release_conn()  # read to the end: the connection is reused (keep-alive)
        else:
            resp.close()
        return Outcome(resp.status, data[:MAX_RESPONSE], retry_after(resp.headers.get("Retry-After")))

    def close(self) -> None:
        self.pool.close()
