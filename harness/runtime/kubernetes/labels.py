"""The labels on every object the harness creates in a cluster.

Two run labels, because a ramp's steps each get their own scope (`<run>-s2`): the
scope label tells one step's objects apart, the bare run id finds every object of the
run at once (what the watchdog and `recover` sweep by, even if the harness died before
journaling that it created one).
"""

from __future__ import annotations

__all__ = ["LABEL_RUN", "LABEL_RUN_SCOPE", "MANAGED_BY", "run_labels"]

LABEL_RUN_SCOPE = "chaos-harness/run-id"  # the run id, or a ramp step's scope `<run>-s2`
LABEL_RUN = "chaos-harness/run"  # always the bare run id: what a sweep selects on
MANAGED_BY = ("app.kubernetes.io/managed-by", "chaos-harness")


def run_labels(run_id: str, scope: str | None = None) -> dict[str, str]:
    """The labels of an object created for `run_id` (in `scope`, default the run itself)."""
    return {
        LABEL_RUN_SCOPE: scope or run_id,
        LABEL_RUN: run_id,
        MANAGED_BY[0]: MANAGED_BY[1],
    }
