"""logproc's own log: structlog to stderr, never stdout (stdout belongs to the stdout sink).

On a TTY it renders key=value lines for people; otherwise one JSON object per line
(journald and log shippers read it as is). Every value passes through `mask`, so a secret
substituted from `${NAME}` is shown as `***` wherever the daemon writes it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import orjson
import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
_mask: Callable[[str], str] = lambda text: text  # noqa: E731


def set_mask(mask: Callable[[str], str]) -> None:
    """Install the secret masker of the running config (replaced on reload)."""
    global _mask
    _mask = mask


def _mask_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for k, v in event.items():
        if isinstance(v, str):
            event[k] = _mask(v)
        elif not isinstance(v, int | float | bool) and v is not None:
            event[k] = _mask(str(v))
    return event


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
            _mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def get_logger(component: str) -> Any:
    """A logger that names the component it logs for."""
    return structlog.get_logger().bind(component=component)
