"""Structured logs: one JSON object per line, with the request id of the turn.

Processes load :data:`CONFIG_FILE` (uvicorn's ``--log-config``, rasa-sdk's
``--logging-config_file``), so the formatter and the filter below are named there and
nothing configures logging from library code.

A request id is made by the gateway for each HTTP request and shopper turn (or taken
from a well-formed ``X-Request-ID``), sent to Rasa in the message metadata, read back by
the actions from the tracker and sent with their API calls: ``grep`` one id in the logs
of every process to follow a turn.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CONFIG_FILE = Path(__file__).with_name("logging.yml")
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
"""What a request id from outside may look like (else a new one is made): no spaces,
quotes or control characters that could forge log lines."""

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                         default=None)

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName",
                                                            "color_message"}
"""Record fields that are not extra context (uvicorn adds an ANSI-coloured copy of its
message as ``color_message``)."""


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is well formed, else a new one."""
    if value is not None and REQUEST_ID_RE.fullmatch(value):
        return value
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra fields, "exception"}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                entry[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
