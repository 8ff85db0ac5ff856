"""Checks after the fault on the real shop: both kinds pass on acknowledged orders, and a
read-back that 404s deviates the run."""

from __future__ import annotations

from pathlib import Path

from tests.integration.runs import assert_clean, events, experiment, run
from tests.integration.stackfixture import Stack

CHECKS = """
checks:
  - name: readable
    http:
      from: {method: POST, path: /orders}
      request: {method: GET, path: "%s"}
      expect_status: 200
  - name: stored
    sql:
      database: postgres
      query: "SELECT idempotency_key FROM orders WHERE idempotency_key = ANY(%%(keys)s)"
      from: {method: POST, path: /orders}
      key: idempotency_key
      statement_timeout: 5s
"""
SHOP_CHECKS = CHECKS % "/orders/{id}"  # what the shop's orders-kill-one declares
BY_ID = """
  - name: stored-by-id
    sql:
      database: postgres
      query: "SELECT id FROM orders WHERE id = ANY(%(keys)s)"
      from: {method: POST, path: /orders}
      key: id
"""


def _run(stack: Stack, tmp_path: Path, checks: str) -> tuple[int, dict]:
    path = experiment(
        tmp_path,
        "checks",
        """
        one-catalog: {service: catalog, count: 1}
    """,
        """
        - {type: latency, target: one-catalog, latency_ms: 50, duration: 3s}
    """,
        expectations=checks,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert journal, result.stdout + result.stderr
    return result.returncode, journal


def test_both_checks_pass_on_every_acknowledged_order(stack: Stack, tmp_path: Path):
    code, journal = _run(stack, tmp_path, SHOP_CHECKS + BY_ID)  # a uuid column: no cast
    checks = {c["name"]: c for c in journal["checks"]}
    assert code == 0 and journal["verdict"] == "held", journal["reasons"]
    for name, kind in (("readable", "http"), ("stored", "sql"), ("stored-by-id", "sql")):
        check = checks[name]
        assert (check["kind"], check["status"], check["ok"]) == (kind, "pass", True), check
        assert check["acknowledged"] > 0
        assert check["verified"] == check["acknowledged"] and check["missing"] == []
    assert [e["name"] for e in events(journal, "check")] == ["readable", "stored", "stored-by-id"]
    assert_clean(stack)


def test_a_read_back_that_404s_deviates(stack: Stack, tmp_path: Path):
    code, journal = _run(stack, tmp_path, CHECKS % "/no-such-route/{id}")
    readable = next(c for c in journal["checks"] if c["name"] == "readable")
    assert code == 1 and journal["verdict"] == "deviated", journal["reasons"]
    assert readable["status"] == "fail" and readable["missed"] == readable["acknowledged"] > 0
    assert readable["missing"][0].endswith("-> 404")
    assert any(r.startswith("check readable:") for r in journal["reasons"])
    assert_clean(stack)
