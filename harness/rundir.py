"""Where the stack keeps its state: one run directory."""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunDir", "postgres_user"]


def postgres_user() -> str | None:
    """The account PostgreSQL must run as: `postgres` when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


@dataclass(frozen=True)
class RunDir:
    """Layout of a run directory (default `.run/`)."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def jaeger_config(self) -> Path:
        return self.config / "jaeger.yaml"

    @property
    def prometheus_data(self) -> Path:
        return self.root / "prometheus"

    @property
    def alertmanager_data(self) -> Path:
        return self.root / "alertmanager"

    def forget_notifications(self) -> None:
        """Drop Alertmanager's notification log before it starts; its silences stay.

        The log outlives a restart: an alert still firing at the last `harness down` is
        "already notified" after `up` and is not sent again for `repeat_interval` (an hour),
        so an experiment expecting it at a receiver fails for nothing. A new stack starts
        without it, as a new Alertmanager does."""
        (self.alertmanager_data / "nflog").unlink(missing_ok=True)

    @property
    def notifications(self) -> Path:
        """Every notification Alertmanager delivered to the alert receiver, one JSON a line."""
        return self.root / "alerts" / "notifications.jsonl"

    @property
    def postgres_data(self) -> Path:
        """The cluster directory; outside the run dir if the postgres user cannot reach it."""
        inside = self.root / "postgres"
        user = postgres_user()
        if user is None or _traversable_by_others(self.root):
            return inside
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"harness-pg-{digest}"

    def forget_postgres(self) -> None:
        """Remove the stack's PostgreSQL cluster: the one directory derived for this run
        dir (`postgres_data`), nothing else. Its data is throwaway test data of this
        stack: kept past `down`, clusters built up in the temp dir and a later stack on
        the same run dir started on an old database. Call it only with PostgreSQL stopped."""
        shutil.rmtree(self.postgres_data, ignore_errors=True)

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def ensure(self) -> None:
        dirs = (self.logs, self.config, self.prometheus_data, self.alertmanager_data)
        for d in (self.root, *dirs, self.notifications.parent):
            d.mkdir(parents=True, exist_ok=True)


def _traversable_by_others(path: Path) -> bool:
    """True if every directory from / down to `path` has the world-execute bit."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [*reversed(path.parents), path] if p.exists())
