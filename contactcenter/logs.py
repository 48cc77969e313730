"""Log lines an operator's shipper can read: `LOG_FORMAT=json` writes one JSON object per line with
the time, level, logger, message, and the fields the desk attaches (a callback's app, family,
outcome and status; an upstream request's API, action, status and duration). No parameter of a
callback and no credential is ever among them (docs/operations.md)."""

import json
import logging
from datetime import UTC, datetime

# The `extra=` fields the desk's log lines carry.
FIELDS = ("app", "family", "event", "outcome", "status", "duration_ms", "upstream", "action")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
