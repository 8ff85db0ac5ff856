"""Every error the services answer with, and the one place they become HTTP.

Hierarchy::

    AppError                      an answer for the client: status, code, message
    ├── BadRequest (400)          malformed JSON, missing Idempotency-Key, bad header
    ├── NotFound (404)            unknown product, order or route
    ├── Conflict (409)            idempotency key reused with another body
    ├── PayloadTooLarge (413)     body over the limit
    ├── Unprocessable (422)       well-formed JSON of the wrong shape
    ├── BadGateway (502)          a dependency answered garbage or failed
    ├── ServiceUnavailable (503)  shed, bulkhead full, no healthy upstream, DB down
    └── GatewayTimeout (504)      the deadline budget ran out

Resilience primitives raise their own exceptions (BulkheadFull, DeadlineExceeded);
`install_error_handlers` maps those here too, so no request ends in a bare 500.
Every body is `{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sample_app.resilience.bulkhead import BulkheadFull
from sample_app.resilience.deadline import DeadlineExceeded

__all__ = [
    "AppError",
    "BadGateway",
    "BadRequest",
    "Conflict",
    "GatewayTimeout",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Unprocessable",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger(__name__)


class AppError(Exception):
    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init__(
        self, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.headers = headers or {}


class BadRequest(AppError):
    status, default_code = 400, "bad_request"


class NotFound(AppError):
    status, default_code = 404, "not_found"


class Conflict(AppError):
    status, default_code = 409, "conflict"


class PayloadTooLarge(AppError):
    status, default_code = 413, "payload_too_large"


class Unprocessable(AppError):
    status, default_code = 422, "validation_failed"


class BadGateway(AppError):
    status, default_code = 502, "bad_gateway"


class ServiceUnavailable(AppError):
    status, default_code = 503, "unavailable"

    def __init__(self, message: str, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, code, {"Retry-After": str(retry_after)})


class GatewayTimeout(AppError):
    status, default_code = 504, "deadline_exceeded"


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


_STARLETTE_CODES = {404: "not_found", 405: "method_not_allowed"}


def _validation_message(exc: RequestValidationError) -> str:
    """A short description of what was wrong, without echoing the input back."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _on_app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _on_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STARLETTE_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "validation_failed", _validation_message(exc))


async def _on_deadline(_: Request, exc: Exception) -> JSONResponse:
    return error_response(504, "deadline_exceeded", str(exc) or "deadline exceeded")


async def _on_bulkhead(_: Request, exc: Exception) -> JSONResponse:
    return error_response(503, "bulkhead_full", str(exc), {"Retry-After": "1"})


def install_error_handlers(app: FastAPI) -> None:
    """JSON error bodies for everything FastAPI/Starlette or our code can raise."""
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(DeadlineExceeded, _on_deadline)
    app.add_exception_handler(BulkheadFull, _on_bulkhead)
