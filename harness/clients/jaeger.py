"""Jaeger's query API (v2's query service, the JSON the UI reads): one trace by id.

Every call is bounded by a timeout; an unreachable Jaeger, an error status or an answer
that is not Jaeger's JSON raises JaegerError, a trace Jaeger does not hold (404)
TraceNotFound. The answer is parsed at this boundary into plain frozen dataclasses
(`parse_trace` reads a saved `/api/traces/{id}` answer the same way), times in
microseconds since the epoch, as Jaeger gives them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from harness.clients.base import HttpClient
from harness.errors import HarnessError

__all__ = ["JaegerClient", "JaegerError", "Span", "Trace", "TraceNotFound", "parse_trace"]

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")


class JaegerError(HarnessError):
    """Jaeger could not be reached in time, answered an error, or sent what is not a trace."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TraceNotFound(JaegerError):
    """Jaeger holds no such trace (never received, not yet flushed, or evicted)."""


@dataclass(frozen=True)
class Span:
    span_id: str
    parent_id: str | None  # the CHILD_OF parent; it may be missing from the trace (our client)
    operation: str
    service: str  # the process's service.name
    instance: str | None  # the process's service.instance.id (the replica, e.g. orders-2)
    start: int  # µs since the epoch
    duration: int  # µs
    kind: str  # server, client, internal, producer, consumer ("" when not given)
    tags: dict[str, Any]
    error: bool

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True)
class Trace:
    trace_id: str
    spans: tuple[Span, ...]


class JaegerClient(HttpClient):
    def trace(self, trace_id: str) -> Trace:
        """The trace with this id (hex, as in `traceparent`); TraceNotFound when absent."""
        if not _TRACE_ID.match(trace_id):
            raise JaegerError(f"{trace_id!r} is not a trace id (up to 32 hex digits)")
        body = self._get(f"/api/traces/{trace_id.lower()}")
        try:
            return parse_trace(body)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise JaegerError(f"Jaeger at {self.base_url}: malformed trace: {exc}") from exc

    def services(self) -> list[str]:
        """The services Jaeger has received spans from."""
        data = self._get("/api/services").get("data") or []
        return [str(s) for s in data]

    def ui_url(self, trace_id: str) -> str:
        return f"{self.base_url}/trace/{trace_id.lower()}"

    def _get(self, path: str) -> dict[str, Any]:
        try:
            resp = self._http.get(path)
        except httpx.HTTPError as exc:
            raise JaegerError(
                f"Jaeger at {self.base_url} did not answer GET {path}: {exc}"
            ) from exc
        body = _json(resp)
        if resp.status_code == 404:
            raise TraceNotFound(f"Jaeger GET {path}: {_message(body, resp)}", 404)
        if resp.status_code != 200 or body is None:
            raise JaegerError(
                f"Jaeger GET {path}: {resp.status_code} {_message(body, resp)}", resp.status_code
            )
        return body


def _json(resp: httpx.Response) -> dict[str, Any] | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _message(body: dict[str, Any] | None, resp: httpx.Response) -> str:
    errors = (body or {}).get("errors") or []
    if errors and isinstance(errors[0], dict):
        return str(errors[0].get("msg", errors[0]))
    return resp.text[:200]


def parse_trace(body: dict[str, Any]) -> Trace:
    """A `/api/traces/{id}` answer (`{"data": [trace]}`) as a Trace."""
    data = body["data"]
    if not data:
        raise TraceNotFound("the answer holds no trace", 404)
    raw = data[0]
    processes = raw.get("processes") or {}
    spans = tuple(_span(s, processes) for s in raw["spans"])
    return Trace(trace_id=str(raw["traceID"]), spans=spans)


def _span(raw: dict[str, Any], processes: dict[str, Any]) -> Span:
    tags = _tags(raw.get("tags"))
    process = processes.get(str(raw.get("processID")), {})
    ptags = _tags(process.get("tags"))
    parents = [
        str(r["spanID"]) for r in raw.get("references") or () if r.get("refType") == "CHILD_OF"
    ]
    return Span(
        span_id=str(raw["spanID"]),
        parent_id=parents[0] if parents else None,
        operation=str(raw.get("operationName", "")),
        service=str(process.get("serviceName", "")),
        instance=str(ptags["service.instance.id"]) if "service.instance.id" in ptags else None,
        start=int(raw["startTime"]),
        duration=int(raw["duration"]),
        kind=str(tags.get("span.kind", "")),
        tags=tags,
        error=tags.get("error") in (True, "true") or tags.get("otel.status_code") == "ERROR",
    )


def _tags(raw: Any) -> dict[str, Any]:
    return {str(t["key"]): t.get("value") for t in raw or () if isinstance(t, dict) and "key" in t}
