"""The report's timeline names each killed instance's replacement and what was measured of
it: on Kubernetes a new pod under a new name, with the runtime's created/Running/Ready;
and the targets a cluster run resolved are its pods."""

from __future__ import annotations

from harness.report.html import Provenance, _row_text, _timeline
from harness.safety.events import (
    HandedOver,
    Planned,
    ReplicaBack,
    RollbackIncomplete,
    RunStarted,
)


def _back(**fields) -> ReplicaBack:
    return ReplicaBack.model_validate({"time": 1.0, "event": "replica.back", **fields})


def test_a_pod_replaced_under_a_new_name_with_its_stages():
    stages = {"killed": "shop/web-a", "created": 0.03, "running": 0.03, "ready": 0.091}
    back = _back(replica="shop/web-b", seconds=0.091, killed="shop/web-a", stages=stages)
    assert _row_text(back, {}) == (
        "replacement of shop/web-a: shop/web-b ready "
        "(created 0.03 s, running 0.03 s, ready 0.091 s after the kill)"
    )


def test_a_process_restarted_under_its_own_name():
    back = _back(replica="orders-1", identity="pid:2:2", seconds=1.25)
    assert _row_text(back, {}) == "replacement orders-1 ready 1.25 s after the kill"


def test_the_resolved_targets_of_a_cluster_run_are_pods_with_no_links():
    planned = Planned.model_validate(
        {"time": 1.0, "event": "planned", "fault": 0, "type": "kill",
         "replicas": ["shop/web-a"], "services": ["web"], "links": []}
    )  # fmt: skip
    cluster = RunStarted.model_validate(
        {"time": 0.0, "event": "run.started", "runtime": {"kind": "kubernetes"}}
    )
    local = RunStarted.model_validate(
        {"time": 0.0, "event": "run.started", "runtime": {"kind": "local"}}
    )
    assert Provenance.of(cluster, [planned]).targets == ("fault 0 (kill): pod shop/web-a",)
    assert Provenance.of(local, [planned]).targets == (
        "fault 0 (kill): replicas shop/web-a; links —",
    )


def test_a_rollback_left_incomplete_is_on_the_timeline_with_its_hand_over():
    handed = HandedOver.model_validate(
        {"time": 2.0, "event": "rollback.handed_over", "still_open": ["r/f0/0"],
         "reason": "the revert still failed after 30s of retries"}
    )  # fmt: skip
    left = RollbackIncomplete.model_validate(
        {"time": 2.0, "event": "rollback.incomplete", "still_open": ["r/f0/0"]}
    )
    assert _row_text(handed, {}) == (
        "rollback handed to the watchdog: the revert still failed after 30s of retries"
    )
    assert _row_text(left, {}) == "ROLLBACK INCOMPLETE: still open r/f0/0"
    rows = [text for _, _, text in _timeline([handed, left], 0.0)]
    assert rows == [_row_text(handed, {}), _row_text(left, {})]
