"""The error tree of logproc, in one place.

    LogprocError                 base of everything logproc raises on purpose
    ├── ConfigErrors             a config file is invalid; carries *every* problem found (exit 2)
    ├── StartupError             a part cannot start as configured (a port in use): exit 2
    ├── QueueClosed              put() on a closed queue: the producer stops, its lines stay on disk
    └── SinkError                a sink could not deliver a payload
        ├── RetriableSinkError   worth trying again (I/O pressure, 5xx, 429, timeouts, refused)
        └── FatalSinkError       will never succeed as sent (4xx, bad payload): dead-lettered

Errors are split into retriable and fatal at the I/O boundary, by the component that
sees the raw failure; everything above it only asks which branch an error is on.
"""

from __future__ import annotations

from dataclasses import dataclass


class LogprocError(Exception):
    """Base of every error logproc raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file: where it is and what is wrong.

    `line` is 1-based and None when no line can be named (a missing key).
    `path` is the dotted key path (`sinks.errors.min_level`), "" for the whole file.
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigErrors(LogprocError):
    """A config is invalid. `issues` lists every problem found in one pass, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class StartupError(LogprocError):
    """A valid config that cannot run here: a source cannot listen on its address (in use,
    not permitted), or cannot run as asked (a receiver with `run --once`). Raised while
    the pipeline is built, before anything is read; the message names the source and the
    address, and the command exits 2."""


class QueueClosed(LogprocError):
    """The queue no longer accepts batches (shutdown or reload in progress)."""


class SinkError(LogprocError):
    """A sink could not deliver a payload."""


class RetriableSinkError(SinkError):
    """Delivery failed in a way that may succeed later; the sink retries with backoff."""


class FatalSinkError(SinkError):
    """Delivery can never succeed as sent; the entries go to the dead-letter file, with the
    HTTP `status` and `response` body when there was one."""

    def __init__(self, message: str, status: int | None = None, response: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.response = response
