"""JSON logs, one object per line on stdout, correlated with the active trace.

The trace ids come from a logging.Filter reading the current span context rather
than from OTel's LoggingInstrumentor, which would also attach an OTel log handler.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

__all__ = ["TraceContextFilter", "setup_logging"]

# uvicorn's loggers: made to propagate to our root handler so they are JSON too
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class TraceContextFilter(logging.Filter):
    """Adds `trace_id`/`span_id` (lowercase hex, 32/16) of the current span, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


def json_formatter(service: str, replica: str) -> JsonFormatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        static_fields={"service": service, "replica": replica},
        timestamp=True,
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's ANSI-coloured duplicate
    )


def setup_logging(
    service: str, replica: str, level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Route every logger (ours, uvicorn's, psycopg's) to one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(json_formatter(service, replica))
    handler.addFilter(TraceContextFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # we write our own access lines
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per client call is noise
    return handler
