"""Logging for every role: the human text format, or one JSON object per line.

Every entry point (``python -m l1 node|light``, ``python -m sequencer`` with or without
``--follow``, ``python -m challenger``, ``python -m prover``) calls ``configure_logging`` once,
before it builds anything that logs, and runs uvicorn with ``log_config=None`` so uvicorn's own
loggers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``) have no handlers of their own and
reach the root handler installed here: a log collector then sees one format per process.

The JSON format (``--log-format json`` or ``ROLLCOURT_LOG_FORMAT=json``) writes one object per
line with ``ts`` (ISO-8601, UTC, milliseconds, ``Z``), ``level``, ``logger`` and ``msg`` (the
formatted message), ``exc_info`` (the traceback text) when the record carries an exception,
``stack_info`` when it carries a stack, and every field passed with ``extra=`` (values that are
not JSON are written with ``str``). Lines never span lines: a traceback is one JSON string.

This module is not part of the pure cores (it writes to stderr); ``l1`` is simply the package
every service already imports.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Final

__all__ = [
    "LOG_FORMATS",
    "LOG_FORMAT_ENV",
    "TEXT_FORMAT",
    "JsonFormatter",
    "LogFormat",
    "announce",
    "configure_logging",
    "serve",
]


class LogFormat(StrEnum):
    """The values of ``--log-format`` (an enum so typer shows and checks the choices)."""

    TEXT = "text"
    JSON = "json"


#: The accepted values of ``--log-format``.
LOG_FORMATS: Final = tuple(f.value for f in LogFormat)
#: The environment variable every role reads when ``--log-format`` is not given.
LOG_FORMAT_ENV: Final = "ROLLCOURT_LOG_FORMAT"
#: The text format the roles have always used.
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Attributes every ``LogRecord`` has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
#: Extras that only repeat the message with terminal colours (uvicorn adds it).
_DROPPED_EXTRAS: Final = frozenset({"color_message"})
_UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``msg``, then the rest."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRIBUTES or key in _DROPPED_EXTRAS or key in entry:
                continue
            entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Install one stderr handler on the root logger in format ``fmt`` (``text`` or ``json``).

    Replaces any handler already there (a second call reconfigures instead of doubling lines),
    hands uvicorn's loggers to the root handler, and routes ``warnings`` through logging. In JSON
    mode uncaught exceptions (main thread and other threads) are logged as ``CRITICAL`` records
    too, so a crash does not break the one-object-per-line stream with a bare traceback.
    Raises ``ValueError`` for an unknown format or level.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.captureWarnings(True)
    if fmt == "json":
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_thread_uncaught


def announce(logger: logging.Logger, message: str, fmt: str) -> None:
    """A start-up banner: printed to stdout in text mode (as it always was, whatever the log
    level), logged as an INFO record in JSON mode so every line of the output stays JSON."""
    if fmt == "json":
        logger.info(message)
    else:
        print(message, flush=True)


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    logging.getLogger("uncaught").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    thread = args.thread.name if args.thread is not None else "?"
    logging.getLogger("uncaught").critical(
        "uncaught exception in thread %s",
        thread,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def serve(app: Any, host: str, port: int, log_level: str) -> None:
    """Run ``app`` with uvicorn until it stops, logging through the root handler
    ``configure_logging`` installed (``log_config=None``: uvicorn would otherwise install its own
    text handlers and break the JSON format) and without access lines (every role has metrics
    for its requests)."""
    import uvicorn  # a service dependency; the node's pure layers never import this module

    uvicorn.run(
        app, host=host, port=port, log_level=log_level.lower(), log_config=None, access_log=False
    )
