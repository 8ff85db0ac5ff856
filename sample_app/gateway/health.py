"""Active health checking: poll every upstream's /health/ready; not ready = out of rotation.

Each replica has its own loop, so one slow replica never delays the verdict on the
others. The probe client is not traced: polls would be a root trace each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import httpx

from sample_app.resilience.balancer import Replica

__all__ = ["HealthChecker"]

log = logging.getLogger(__name__)


class HealthChecker:
    def __init__(
        self, replicas: Iterable[Replica], http: httpx.AsyncClient, interval: float, timeout: float
    ) -> None:
        self.replicas = list(replicas)
        self._http = http
        self.interval = interval
        self.timeout = timeout

    async def run(self) -> None:
        await asyncio.gather(*(self._watch(replica) for replica in self.replicas))

    async def _watch(self, replica: Replica) -> None:
        while True:
            try:
                await self.check(replica)
            except Exception:  # a bug here must not silently freeze the replica's state
                log.exception("health check of %s failed unexpectedly", replica.name)
                replica.ready = False
            await asyncio.sleep(self.interval)

    async def check(self, replica: Replica) -> None:
        """One poll; flips `replica.ready` and logs the transitions."""
        ready, why = await self._probe(replica)
        if ready != replica.ready:
            if ready:
                log.info("%s is ready again: back in rotation", replica.name)
            else:
                log.warning("%s is not ready (%s): out of rotation", replica.name, why)
        replica.ready = ready

    async def _probe(self, replica: Replica) -> tuple[bool, str]:
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.get(f"{replica.url}/health/ready", timeout=self.timeout)
        except (TimeoutError, httpx.TimeoutException):
            return False, f"no answer within {self.timeout:.1f} s"
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}".rstrip(": ")
        return response.status_code == 200, f"status {response.status_code}"
