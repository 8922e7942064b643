"""Structured logs: one JSON object per line, never an identity number in clear.

Every line passes ``identity.scrub``: anything shaped like an 18-character resident
identity number is masked (``1101**********002X``), in the message, its arguments, extra
fields and tracebacks alike. ``configure_logging`` is called by the server and the
command line; ``XINYONG_LOG_FORMAT=text`` gives plain lines (still scrubbed) for a
developer's terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from xinyong.identity.scrub import scrub_text

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class ScrubFilter(logging.Filter):
    """Masks identity numbers in the record itself, for every handler that follows."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = str(record.msg)
        record.msg = scrub_text(message)
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return scrub_text(json.dumps(data, ensure_ascii=False, default=str))


class ScrubbingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub_text(super().format(record))


def handler(fmt: str = "json", stream: Any = None) -> logging.Handler:
    out = logging.StreamHandler(stream or sys.stderr)
    out.addFilter(ScrubFilter())
    out.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else ScrubbingTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    return out


def configure_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Root logger → one scrubbed handler; uvicorn's loggers go through it too."""
    from xinyong.config import get_settings

    settings = get_settings()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(fmt or settings.log_format))
    root.setLevel((level or settings.log_level).upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


def uvicorn_log_config() -> dict[str, Any]:
    """``uvicorn.run(log_config=…)`` for worker processes: the same scrubbed JSON lines."""
    from xinyong.config import get_settings

    settings = get_settings()
    formatter = (
        {"()": "xinyong.logs.JsonFormatter"}
        if settings.log_format == "json"
        else {
            "()": "xinyong.logs.ScrubbingTextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"scrub": {"()": "xinyong.logs.ScrubFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["scrub"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": settings.log_level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
        },
    }
