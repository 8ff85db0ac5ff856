"""Prometheus HTTP API: instant and range queries, alerts, targets, exemplars.

Every call is bounded by a timeout; an unreachable server or a failed query raises
PrometheusError so callers can fail safe. An empty result is returned as empty —
deciding that "no data" never passes is the probes' job, not the transport's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from harness.clients.base import HttpClient
from harness.errors import HarnessError

__all__ = ["PrometheusClient", "PrometheusError", "Sample", "Series"]


class PrometheusError(HarnessError):
    """Prometheus could not be reached, or rejected the query."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    time: float
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]


class PrometheusClient(HttpClient):
    def __init__(self, base_url: str, client: httpx.Client | None = None, timeout: float = 5.0):
        super().__init__(base_url, timeout, client=client)

    def query(self, promql: str, at: float | None = None) -> list[Sample]:
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            t, v = data["result"]
            return [Sample({}, float(t), _float(v))]
        if data["resultType"] != "vector":
            raise PrometheusError(f"query returned a {data['resultType']}, not a vector: {promql}")
        return [
            Sample(r["metric"], float(r["value"][0]), _float(r["value"][1])) for r in data["result"]
        ]

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        params = {"query": promql, "start": start, "end": end, "step": step}
        data = self._get("/api/v1/query_range", params)
        return [
            Series(r["metric"], [(float(t), _float(v)) for t, v in r["values"]])
            for r in data["result"]
        ]

    def query_samples(self, promql: str, at: float | None = None) -> list[Series]:
        """The raw samples of a range selector (`x[5m]`), with their own timestamps."""
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        data = self._get("/api/v1/query", params)
        if data["resultType"] != "matrix":
            raise PrometheusError(f"query returned a {data['resultType']}, not a range: {promql}")
        return [
            Series(r["metric"], [(float(t), _float(v)) for t, v in r["values"]])
            for r in data["result"]
        ]

    def alert_rules(self) -> dict[str, dict[str, Any]]:
        """The alerting rules Prometheus has loaded, by name (the first of a name wins)."""
        groups = self._get("/api/v1/rules", {"type": "alert"})["groups"]
        found: dict[str, dict[str, Any]] = {}
        for group in groups:
            for rule in group.get("rules", []):
                found.setdefault(rule["name"], {**rule, "group": group.get("name", "")})
        return found

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/alerts", {})["alerts"])

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets", {"state": "active"})["activeTargets"])

    def exemplars(self, promql: str, start: float, end: float) -> list[dict[str, Any]]:
        return list(
            self._get("/api/v1/query_exemplars", {"query": promql, "start": start, "end": end})
        )

    def ready(self) -> bool:
        try:
            return self._http.get("/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            resp = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.base_url} did not answer: {exc}") from exc
        try:
            body = resp.json()
        except ValueError as exc:
            raise PrometheusError(
                f"Prometheus {path}: {resp.status_code} {resp.text[:200]}"
            ) from exc
        if body.get("status") != "success":
            raise PrometheusError(
                f"Prometheus {path}: {body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]


def _float(text: str) -> float:
    value = float(text)
    return value  # "NaN", "+Inf" and "-Inf" parse as floats; probes decide what they mean
