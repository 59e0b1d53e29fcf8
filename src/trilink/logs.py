"""The node's logs: one JSON object per line (``time``, ``level``, ``logger``, ``message``,
then the record's ``fields`` and, for an exception, ``exc``), to stderr or a rotated file.

``setup_logging(level, file=..., max_bytes=..., backups=...)`` is called once by
``trilink node run`` with what ``--log-level`` and node.toml's ``[log]`` table say. At INFO a
node writes what an operator acts on (start, stop, links that go down or come back, the TAK
stream's connection); the per-request lines of the HTTP libraries (a pull every few seconds
per partner) stay at DEBUG. Extra fields: ``log.info("...", extra={"fields": {...}})``.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("json", "text")
# Libraries that log every request at INFO (a node pulls from each partner every 2 s): shown
# only at DEBUG; the connection-level chatter of the ones below them never.
REQUESTS = ("httpx", "uvicorn.access")
WIRE = ("httpcore", "hpack")
MAX_MESSAGE_CHARS = 8000


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message[:MAX_MESSAGE_CHARS],
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc["fields"] = fields
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)[-MAX_MESSAGE_CHARS:]
        return json.dumps(doc, default=str, ensure_ascii=False, separators=(",", ":"))


def level_number(name: str) -> int:
    """The ``logging`` level of a name (any case); ``ValueError`` naming the choices."""
    upper = name.strip().upper()
    if upper not in LEVELS:
        raise ValueError(f"log level {name[:20]!r} is not one of {', '.join(LEVELS)}")
    return int(getattr(logging, upper))


def setup_logging(
    level: str = "INFO",
    *,
    file: Path | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
    fmt: str = "json",
) -> logging.Handler:
    """Send every log record at ``level`` and above to stderr (or ``file``, rotated at
    ``max_bytes`` keeping ``backups`` old files) as JSON lines; returns the handler."""
    number = level_number(level)
    handler: logging.Handler
    if file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    for name in REQUESTS:
        logging.getLogger(name).setLevel(
            logging.INFO if number <= logging.DEBUG else max(number, logging.WARNING)
        )
    for name in WIRE:
        logging.getLogger(name).setLevel(max(number, logging.WARNING))
    logging.captureWarnings(True)
    return handler
