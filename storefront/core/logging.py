"""Structured (JSON) log records carrying the request id."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from storefront.core.middleware import current_request_id

# Attributes every LogRecord has; anything else was passed through `extra`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


def install_record_factory() -> None:
    """Stamp every LogRecord with the request id when it is created.

    A handler filter (RequestIdFilter) only sees records reaching that handler;
    the factory covers every handler (tests' caplog, Sentry, files) too.
    Idempotent.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_storefront", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id() or "-"
        return record

    factory._storefront = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdFilter(logging.Filter):
    """For handlers configured before the factory is installed (dictConfig runs first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", "-") == "-":
            record.request_id = current_request_id() or "-"
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()
