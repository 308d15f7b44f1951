"""Logging: one JSON object per line (or plain text at a terminal), each carrying the id of the
request or job it belongs to.

Log lines hold no personal data: the access log (hub.system.metrics) writes the route's
template, never the path with its codes, the query, the client's address or its agent.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from typing import TYPE_CHECKING

from pythonjsonlogger.json import JsonFormatter

from hub.context import REQUEST_ID

if TYPE_CHECKING:
    from hub.config import Settings

# A request id a proxy sends along is kept when it looks like one; anything else is replaced.
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def new_request_id(offered: str | None = None) -> str:
    if offered and _GOOD_ID.fullmatch(offered):
        return offered
    return secrets.token_hex(8)


class RequestIdFilter(logging.Filter):
    """Give every record the current request id (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get()
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def configure_logging(settings: Settings, *, stream: object | None = None) -> None:
    """Root logging for a hub process: JSON unless asked for text (or ``auto`` at a terminal).
    uvicorn's own loggers are sent here too (the server is started without its log config)."""
    out = stream if stream is not None else sys.stderr
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not getattr(out, "isatty", lambda: False)()
    )
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    handler.setFormatter(json_formatter() if use_json else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # uvicorn's access log names the client's address: ours (hub.access) does not.
    logging.getLogger("uvicorn.access").disabled = True
