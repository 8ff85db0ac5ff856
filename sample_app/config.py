"""Tuning knobs: one typed, frozen settings object, from CLI flags or environment.

Every field `some_knob` is the flag `--some-knob` and the variable
`SAMPLE_APP_SOME_KNOB`; the flag wins over the variable, which wins over the default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["ENV_PREFIX", "Settings", "add_settings_arguments", "settings_from_args"]

ENV_PREFIX = "SAMPLE_APP_"


def _knob(default: float, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    # deadlines and retries (gateway; deadline_ms applies to every service)
    deadline_ms: int = _knob(2000, "request budget when the caller sends a larger or no budget")
    attempt_timeout_ms: int = _knob(800, "cap on one attempt to call a dependency")
    retry_attempts: int = _knob(3, "attempts per idempotent dependency call, first included")
    retry_base_ms: int = _knob(25, "backoff base: sleep = uniform(0, min(cap, base * 2^n))")
    retry_cap_ms: int = _knob(250, "backoff cap")
    # circuit breaker, per upstream replica
    breaker_failures: int = _knob(5, "consecutive failures that open the breaker")
    breaker_ratio: float = _knob(0.5, "failure ratio over the window that opens the breaker")
    breaker_window: int = _knob(20, "calls in the failure-ratio window")
    breaker_min_calls: int = _knob(10, "calls needed in the window before the ratio counts")
    breaker_cooldown_ms: int = _knob(5000, "open -> half-open after this long")
    # passive outlier ejection and active health checks
    outlier_failures: int = _knob(3, "consecutive failures that eject a replica")
    outlier_base_ejection_ms: int = _knob(2000, "ejection period, times the ejection count")
    outlier_max_ejection_ms: int = _knob(30000, "longest ejection period")
    health_interval_ms: int = _knob(500, "period of the /health/ready poll of each upstream")
    health_timeout_ms: int = _knob(1000, "timeout of one /health/ready poll")
    # bulkheads and load shedding
    bulkhead_limit: int = _knob(64, "concurrent calls per dependency (gateway)")
    bulkhead_wait_ms: int = _knob(100, "longest wait for a bulkhead slot")
    max_in_flight: int = _knob(256, "requests in flight before shedding with 503")
    max_body_bytes: int = _knob(16384, "largest accepted request body")
    # database (orders)
    db_pool_min: int = _knob(2, "connections kept open")
    db_pool_max: int = _knob(10, "largest pool size")
    db_pool_wait_ms: int = _knob(1000, "longest wait for a pooled connection (also <= budget)")
    db_connect_timeout_s: int = _knob(2, "libpq connect_timeout (its minimum is 2)")
    db_check_interval_ms: int = _knob(500, "period of the readiness SELECT 1")
    db_check_timeout_ms: int = _knob(800, "timeout of the readiness SELECT 1")
    # the catalog's cache (with --redis)
    cache_timeout_ms: int = _knob(50, "cap on one cache call (connect or command)")
    cache_ttl_ms: int = _knob(30000, "how long a cached product read lives")
    cache_breaker_failures: int = _knob(3, "consecutive cache failures that skip the cache")
    cache_breaker_cooldown_ms: int = _knob(2000, "cache skipped this long before one trial")
    # observability
    instrumentation: int = _knob(
        1, "1: traces, request metrics and access logs; 0: none of them (overhead benchmark)"
    )

    def seconds(self, name: str) -> float:
        """A `*_ms` knob in seconds."""
        return float(getattr(self, f"{name}_ms")) / 1000.0


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tuning", f"also settable as {ENV_PREFIX}<NAME> variables")
    for f in fields(Settings):
        group.add_argument(
            _flag(f.name), dest=f.name, type=type(f.default), default=None,
            help=f"{f.metadata['help']} (default {f.default})",
        )  # fmt: skip


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Flags, then SAMPLE_APP_* variables, then defaults."""
    env = os.environ if env is None else env
    defaults = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        flag_value = getattr(args, f.name, None)
        env_value = env.get(ENV_PREFIX + f.name.upper())
        if flag_value is not None:
            values[f.name] = flag_value
        elif env_value is not None:
            try:
                values[f.name] = type(getattr(defaults, f.name))(env_value)
            except ValueError:
                raise SystemExit(
                    f"{ENV_PREFIX}{f.name.upper()}: not a number: {env_value!r}"
                ) from None
    return Settings(**values)
