"""Mark a run in Grafana: annotations at fault start, abort and end, tagged `chaos`.

`Annotator.from_env()` returns None unless `GRAFANA_URL` is set (`GRAFANA_TOKEN`, a bearer
token, and `GRAFANA_TIMEOUT`, seconds, 2 by default, are optional). Annotations are the
organisation's (no dashboard uid), so every dashboard whose annotation query asks for the
tag `chaos` shows them: a point at each fault start and abort, and at the end a region
from the first fault start to the end tagged with the verdict. Every tag list holds
`chaos` and the experiment's name.

Nothing here may hurt a run: calls go out from one background thread (a slow Grafana
never delays a guardrail tick), every failure is one logged line, and `ended` waits at
most `timeout` seconds for what is still being sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from datetime import datetime
from typing import Any, Protocol

__all__ = ["CHAOS_TAG", "DEFAULT_TIMEOUT", "Annotator", "When"]

CHAOS_TAG = "chaos"
DEFAULT_TIMEOUT = 2.0
log = logging.getLogger(__name__)

When = float | datetime  # unix seconds, or an aware datetime


class _Annotations(Protocol):
    def add_annotation(
        self,
        dashboard_id: Any = None,
        dashboard_uid: Any = None,
        panel_id: Any = None,
        time_from: Any = None,
        time_to: Any = None,
        tags: Any = None,
        text: Any = None,
    ) -> Any: ...


class Annotator:
    """Annotations of one or more runs in one Grafana; never raises into the caller."""

    def __init__(self, annotations: _Annotations, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._annotations = annotations
        self._timeout = timeout
        self._starts: dict[str, int] = {}
        self._pending: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grafana-annotations")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Annotator | None:
        env = os.environ if environ is None else environ
        url = env.get("GRAFANA_URL", "").strip()
        if not url:
            return None
        try:
            timeout = float(env.get("GRAFANA_TIMEOUT") or DEFAULT_TIMEOUT)
            from grafana_client import GrafanaApi  # only when annotating: ~0.15 s to import
            from grafana_client.client import TokenAuth

            token = env.get("GRAFANA_TOKEN", "").strip()
            api = GrafanaApi.from_url(
                url, credential=TokenAuth(token) if token else None, timeout=timeout
            )
        except Exception as exc:  # noqa: BLE001 — a bad setting must not stop a run
            log.warning("grafana annotations off: GRAFANA_URL=%s: %s", url, exc)
            return None
        return cls(api.annotations, timeout)

    def fault_started(self, run_id: str, experiment: str, when: When) -> None:
        at = _ms(when)
        self._starts.setdefault(run_id, at)
        self._send(
            at, None, [experiment, "fault-start"], f"{experiment}: fault started (run {run_id})"
        )

    def aborted(self, run_id: str, experiment: str, when: When, reason: str = "") -> None:
        why = f": {reason}" if reason else ""
        self._send(
            _ms(when), None, [experiment, "aborted"], f"{experiment}: aborted{why} (run {run_id})"
        )

    def ended(self, run_id: str, experiment: str, when: When, verdict: str) -> None:
        """A region from the run's first fault start (or a point, if none) to `when`;
        then wait up to the timeout for every annotation still on its way."""
        end = _ms(when)
        start = self._starts.pop(run_id, end)
        text = f"{experiment}: {verdict} (run {run_id})"
        self._send(start, end if end > start else None, [experiment, verdict], text)
        self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        done, late = wait_all(pending, timeout=self._timeout)
        if late:
            log.warning(
                "grafana annotations: %d still unsent after %.1fs", len(late), self._timeout
            )

    def _send(self, start: int, end: int | None, tags: list[str], text: str) -> None:
        tags = [CHAOS_TAG, *dict.fromkeys(t for t in tags if t)]
        try:
            self._pending.append(self._pool.submit(self._post, start, end, tags, text))
        except RuntimeError as exc:  # the interpreter is shutting down
            log.warning("grafana annotation not sent (%s): %s", text, exc)

    def _post(self, start: int, end: int | None, tags: list[str], text: str) -> None:
        try:
            self._annotations.add_annotation(time_from=start, time_to=end, tags=tags, text=text)
        except Exception as exc:  # noqa: BLE001 — log a line and go on
            log.warning("grafana annotation failed (%s): %s", text, exc)


def _ms(when: When) -> int:
    seconds = when.timestamp() if isinstance(when, datetime) else float(when)
    return round(seconds * 1000)
