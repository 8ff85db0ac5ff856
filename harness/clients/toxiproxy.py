"""A small typed Toxiproxy client over httpx.

Why not toxiproxy-python: it is unmaintained (2019), needs `future`, keeps host and
port as global class state, sets no request timeouts and updates with the deprecated
POST. Every call here is bounded by the client's timeout and uses PATCH for updates
(see docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from harness.clients.base import HttpClient
from harness.errors import HarnessError

__all__ = ["Proxy", "Toxic", "ToxiproxyClient", "ToxiproxyError"]

Stream = Literal["upstream", "downstream"]
DEFAULT_TIMEOUT = httpx.Timeout(3.0)


class ToxiproxyError(HarnessError):
    """Toxiproxy answered with an error (`status`) or could not be reached in time (None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Toxic(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    type: str
    stream: Stream = "downstream"
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    attributes: dict[str, Any] = {}


class Proxy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    listen: str
    upstream: str
    enabled: bool = True
    toxics: list[Toxic] = []


class ToxiproxyClient(HttpClient):
    """Bound every call in time; raise ToxiproxyError with Toxiproxy's own message."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        # Toxiproxy answers 403 to browser-like user agents; ours is httpx's default.
        super().__init__(base_url, DEFAULT_TIMEOUT, client=client)

    def version(self) -> str:
        return self._call("GET", "/version").text.strip()

    def proxies(self) -> dict[str, Proxy]:
        data = self._call("GET", "/proxies").json()
        return {name: Proxy.model_validate(p) for name, p in data.items()}

    def proxy(self, name: str) -> Proxy:
        return Proxy.model_validate(self._call("GET", f"/proxies/{name}").json())

    def populate(self, proxies: Iterable[Proxy]) -> list[Proxy]:
        """Create or replace proxies by name (Toxiproxy's idempotent bulk call)."""
        body = [p.model_dump(exclude={"toxics"}) for p in proxies]
        data = self._call("POST", "/populate", json=body).json()
        return [Proxy.model_validate(p) for p in data.get("proxies", [])]

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        resp = self._call("PATCH", f"/proxies/{name}", json={"enabled": enabled})
        return Proxy.model_validate(resp.json())

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        resp = self._call("POST", f"/proxies/{proxy}/toxics", json=toxic.model_dump())
        return Toxic.model_validate(resp.json())

    def remove_toxic(self, proxy: str, name: str, missing_ok: bool = True) -> None:
        try:
            self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")
        except ToxiproxyError as exc:
            # only Toxiproxy's own 404 means "already gone"; "404" in a URL or time does not
            if not (missing_ok and exc.status == 404):
                raise

    def toxics(self, proxy: str) -> list[Toxic]:
        return [
            Toxic.model_validate(t) for t in self._call("GET", f"/proxies/{proxy}/toxics").json()
        ]

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        self._call("POST", "/reset")

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ToxiproxyError(
                f"Toxiproxy at {self.base_url} did not answer {method} {path}: {exc}"
            ) from exc
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("error", resp.text)
            except ValueError:
                detail = resp.text
            raise ToxiproxyError(
                f"Toxiproxy {method} {path}: {resp.status_code} {detail}", resp.status_code
            )
        return resp
