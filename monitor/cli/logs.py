"""``--log-format json``: one JSON object a line, for log collectors.

The standard library's logging with a JSON formatter, not structlog: every log
call in the program (ours, Scrapy's, Twisted's, apprise's) already goes through
stdlib logging, so one formatter covers them all without touching a call site or
adding a dependency; structlog would need the same stdlib bridge to see them.

Context comes from the ``extra=`` of a log call (``source``, ``brand``,
``incident``, ``alert``, ``channel`` ...): each plain value there becomes a key of
the line. Objects other libraries pass in ``extra`` (Scrapy's spider, an item)
are left out, so a line stays small and always serialises."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# what every LogRecord has: anything else on a record came from ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}
_PLAIN = (str, int, float, bool, type(None))


def context_of(record: logging.LogRecord) -> dict[str, object]:
    """The plain values a log call passed in ``extra``."""
    return {k: v for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_") and isinstance(v, _PLAIN)}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", <context>..., "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        for key, value in context_of(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
