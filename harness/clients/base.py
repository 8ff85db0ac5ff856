"""What every HTTP client of ours shares: one httpx client, bounded by a timeout, closed
with ours. Tests inject a transport (or a whole httpx client) so no network is needed."""

from __future__ import annotations

from typing import Self

import httpx

__all__ = ["HttpClient"]


class HttpClient:
    def __init__(
        self,
        base_url: str,
        timeout: float | httpx.Timeout = 5.0,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = client or httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
