"""The alert receiver's HTTP API (harness.alerts.receiver): the notifications Alertmanager
delivered, each with the time it arrived.

Every call is bounded by a timeout; an unreachable receiver, an error status or an answer
that is not the receiver's JSON raises ReceiverError. Times are unix seconds; Alertmanager's
zero time (`0001-01-01T00:00:00Z`, the `endsAt` of a firing alert) becomes None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from harness.clients.base import HttpClient
from harness.errors import HarnessError

__all__ = ["Notification", "NotifiedAlert", "ReceiverClient", "ReceiverError"]


class ReceiverError(HarnessError):
    """The alert receiver could not be reached in time, or its answer made no sense."""


@dataclass(frozen=True)
class NotifiedAlert:
    alertname: str
    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float | None
    ends_at: float | None
    fingerprint: str


@dataclass(frozen=True)
class Notification:
    received_at: float  # when the receiver got it (unix seconds, the receiver's clock)
    receiver: str  # the Alertmanager receiver it was sent to: page, ticket or default
    status: str  # "firing" if any alert in it fires, else "resolved"
    group_key: str
    alerts: tuple[NotifiedAlert, ...]


class ReceiverClient(HttpClient):
    def notifications(self, since: float | None = None) -> list[Notification]:
        """Notifications that arrived at or after `since` (all kept in memory when None)."""
        params = {"since": repr(float(since))} if since is not None else {}
        body = self._get("/notifications", params)
        if not isinstance(body, list):
            raise ReceiverError(f"receiver at {self.base_url}: expected a list, got {body!r:.200}")
        try:
            return [_notification(n) for n in body]
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiverError(
                f"receiver at {self.base_url}: malformed notification: {exc}"
            ) from exc

    def ready(self) -> bool:
        try:
            return self._http.get("/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            resp = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise ReceiverError(f"receiver at {self.base_url} did not answer: {exc}") from exc
        if resp.status_code != 200:
            raise ReceiverError(f"receiver {path}: {resp.status_code} {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ReceiverError(f"receiver {path}: not JSON: {resp.text[:200]}") from exc


def _notification(data: dict[str, Any]) -> Notification:
    return Notification(
        received_at=float(data["received_at"]),
        receiver=str(data["receiver"]),
        status=str(data.get("status", "")),
        group_key=str(data.get("groupKey", "")),
        alerts=tuple(_alert(a) for a in data.get("alerts") or ()),
    )


def _alert(data: dict[str, Any]) -> NotifiedAlert:
    labels = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
    return NotifiedAlert(
        alertname=labels.get("alertname", ""),
        status=str(data.get("status", "")),
        labels=labels,
        annotations={str(k): str(v) for k, v in (data.get("annotations") or {}).items()},
        starts_at=parse_time(data.get("startsAt")),
        ends_at=parse_time(data.get("endsAt")),
        fingerprint=str(data.get("fingerprint", "")),
    )


def parse_time(text: str | None) -> float | None:
    """RFC 3339 (Go's, up to nanoseconds) to unix seconds; missing or Go's zero time → None."""
    if not text:
        return None
    when = datetime.fromisoformat(text)  # 3.11+: `Z` and 9 fractional digits (truncated to µs)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: not RFC 3339")
    return None if when.year == 1 else when.timestamp()
