"""Reading request input strictly: JSON bodies into models, and the Idempotency-Key.

Parsing is done here rather than by FastAPI's body binding so that the error split
is ours: unparseable JSON is 400, parseable JSON of the wrong shape is 422.
"""

from __future__ import annotations

import json
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from sample_app.errors import BadRequest, Unprocessable

__all__ = ["IDEMPOTENCY_HEADER", "parse_model", "read_model", "require_idempotency_key"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200

M = TypeVar("M", bound=BaseModel)


def parse_model(raw: bytes, model: type[M]) -> M:
    """Bytes -> JSON object -> validated model, or BadRequest/Unprocessable."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("request body is not valid JSON", "malformed_json") from None
    if not isinstance(data, dict):
        raise Unprocessable("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(_summary(exc)) from None


async def read_model(request: Request, model: type[M]) -> M:
    return parse_model(await request.body(), model)


def require_idempotency_key(request: Request) -> str:
    """The Idempotency-Key header: required, 1-200 visible ASCII characters."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or not key.strip():
        raise BadRequest(f"the {IDEMPOTENCY_HEADER} header is required", "missing_idempotency_key")
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadRequest(
            f"{IDEMPOTENCY_HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters",
            "invalid_idempotency_key",
        )
    return key


def _summary(exc: ValidationError) -> str:
    """Which fields were wrong and why, without echoing the input."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
