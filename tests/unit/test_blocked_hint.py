"""A connection the host itself refuses (EPERM: a firewall, or the shipped unit's
IPAddressDeny=) says so, instead of looking like a peer that is down."""

from __future__ import annotations

import errno

import urllib3

from logproc.sinks.http.client import describe
from logproc.sinks.retry import BLOCKED_HINT, blocked_hint


def test_eperm_from_the_network_stack_gets_the_hint() -> None:
    cause = OSError(errno.EPERM, "Operation not permitted")
    try:
        raise urllib3.exceptions.NewConnectionError(
            None, "Failed to establish a new connection: [Errno 1] Operation not permitted") from cause
    except urllib3.exceptions.NewConnectionError as exc:
        text = describe(exc)
    assert text.endswith(BLOCKED_HINT)
    assert "IPAddressAllow=" in text


def test_other_failures_do_not() -> None:
    assert blocked_hint(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")) == ""
    assert blocked_hint(TimeoutError("timed out")) == ""
