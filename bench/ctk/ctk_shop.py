"""Chaos Toolkit probe for bench/ctk_compare.py: the harness's error-ratio guardrail.

Runs inside Chaos Toolkit's own virtualenv (bench/.ctk-venv), so it uses the standard
library only; `bench/ctk` must be on PYTHONPATH. Like the harness, no data (an empty
result or NaN, e.g. no traffic) never passes.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
import urllib.request

__all__ = ["error_ratio", "error_ratio_below"]

logger = logging.getLogger("chaostoolkit")


def error_ratio(prometheus_url: str, query: str, timeout: float = 2.0) -> float:
    """The instant value of `query`; ValueError when Prometheus has no data for it."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = json.load(resp)
    result = body["data"]["result"]
    if not result:
        raise ValueError(f"no data for {query}")
    value = float(result[0]["value"][1])
    if math.isnan(value):
        raise ValueError(f"NaN for {query}")
    return value


def error_ratio_below(prometheus_url: str, query: str, threshold: float) -> bool:
    """True when the error ratio is below `threshold`; False on breach or no data."""
    try:
        value = error_ratio(prometheus_url, query)
    except (OSError, ValueError, KeyError) as exc:
        logger.warning(f"error ratio: no data ({exc})")
        return False
    logger.debug(f"error ratio {value:.4f} (threshold {threshold})")
    return value < float(threshold)
