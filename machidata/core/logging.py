"""Structured logs: one JSON object per line with the request id and the actor."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from machidata.core.context import current_request_meta


class RequestContextFilter(logging.Filter):
    """Attach request_id and actor of the current request (or job) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = current_request_meta()
        record.request_id = getattr(record, "request_id", None) or meta.get("request_id", "-")
        record.actor = getattr(record, "actor", None) or meta.get("actor", "-")
        return True


class JsonFormatter(logging.Formatter):
    """Render a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "actor": getattr(record, "actor", "-"),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)
