"""One JSON object per log line, through the standard logging module."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import IO, Any

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_HANDLER_MARK = "_demo_app_json_handler"


class JsonFormatter(logging.Formatter):
    """Format a record as a JSON object: timestamp, level, logger, message, then any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(name: str, level: int, stream: IO[str] | None = None) -> logging.Logger:
    """Send logger ``name`` to ``stream`` (stdout by default) as JSON lines.

    Safe to call repeatedly (each app factory call): the handler installed by an earlier call is
    replaced, so lines are never duplicated. The logger does not propagate, so a server that
    configures the root logger (gunicorn) does not print the same line twice.
    """
    from flask.logging import default_handler

    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False) or handler is default_handler:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger
