"""logproc's own log: structlog to stderr, never stdout (stdout belongs to the stdout sink).

On a TTY it renders key=value lines for people; otherwise one JSON object per line
(journald and log shippers read it as is). Every value passes through
`logproc.masking.mask`, tracebacks included, so a secret is shown as `***` wherever the
daemon writes it.

Libraries log through the standard `logging` module (watchdog, urllib3, asyncio); their
records are routed here too, as events of the component named after their logger, so
stderr carries nothing but this log. An exception that escapes a thread (or the main
thread) is logged the same way, masked, instead of Python's raw traceback on stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, MutableMapping
from types import TracebackType
from typing import Any

import orjson
import structlog

from logproc import masking

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


def set_mask(mask: Callable[[str], str]) -> None:
    """Install the secret masker of the running config (replaced on reload)."""
    masking.install(mask)


def _mask_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    mask = masking.mask
    for k, v in event.items():
        if isinstance(v, str):
            event[k] = mask(v)
        elif not isinstance(v, int | float | bool) and v is not None:
            event[k] = mask(str(v))
    return event


class _ToStructlog(logging.Handler):
    """A standard `logging` record as one event of this log (component: the logger's name)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = structlog.get_logger().bind(component=record.name)
            level = min(max(record.levelno, logging.DEBUG), logging.ERROR) // 10 * 10
            method = {logging.DEBUG: logger.debug, logging.INFO: logger.info,
                      logging.WARNING: logger.warning}.get(level, logger.error)
            method(record.getMessage(), exc_info=record.exc_info or None)
        except Exception:  # a log record must never take a thread down
            self.handleError(record)


def _thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else "?"
    get_logger("thread").error("a thread ended with an error", thread=thread,
                               exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _main_exception(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    get_logger("main").error("logproc ended with an error", exc_info=(kind, value, tb))


class _NeverRaise:
    """stderr as the log's output, minus its failures: a log line that cannot be written
    (stderr closed, the journal restarting: EPIPE) is dropped and counted, never raised
    into the thread that logged it (a drain must not stop because its log went away)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.dropped = 0

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except (OSError, ValueError):
            self.dropped += 1

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()

    def isatty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (OSError, ValueError):
            return False


def _json_dumps(obj: Any, default: Callable[[Any], Any] | None = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def configure(level: str = "info", stream: Any = None) -> None:
    """Set up rendering and the minimum level. Safe to call again (reload)."""
    stream = stream or sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty()
    renderer: Any = (structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"],
                                                           drop_missing=True)
                     if tty else structlog.processors.JSONRenderer(serializer=_json_dumps))
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # a traceback as text, so it is masked too
            _mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(_NeverRaise(stream)),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ToStructlog):
            root.removeHandler(handler)
    root.addHandler(_ToStructlog())
    # libraries' debug chatter (watchdog, urllib3) only when the operator asks for debug
    root.setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    logging.lastResort = None
    threading.excepthook = _thread_exception
    sys.excepthook = _main_exception


def get_logger(component: str) -> Any:
    """A logger that names the component it logs for."""
    return structlog.get_logger().bind(component=component)
