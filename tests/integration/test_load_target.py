"""Load sent straight to one replica's own port (`load.target.url`), with a custom header."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from tests.integration.runs import assert_clean, experiment, run
from tests.integration.stackfixture import Stack

CATALOG_UP = """
  - name: catalog-availability
    query: |
      sum(rate(http_server_requests_total{service="catalog",code!~"5.."}[10s]))
        / sum(rate(http_server_requests_total{service="catalog"}[10s]))
    op: ">="
    threshold: 0.95
"""


def test_load_to_a_url_reaches_that_replica_with_the_routes_headers(stack: Stack, tmp_path: Path):
    trace_id = secrets.token_hex(16)
    spans = [secrets.token_hex(8) for _ in range(3)]
    path = experiment(
        tmp_path,
        "catalog-direct",
        """
        other-catalog: {replicas: [catalog-2]}
    """,
        """
        - {type: latency, target: other-catalog, latency_ms: 50, duration: 2s}
    """,
        load=f"""
load:
  rate: 10
  target: {{url: "{stack.replica_url("catalog-1")}"}}
  routes:
    - path: /products
      headers: {{traceparent: "00-{{trace}}-{{span}}-01"}}
      choices: {{trace: ["{trace_id}"], span: {json.dumps(spans)}}}
""",
        steady=CATALOG_UP,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["load"]["requests"] > 0, journal["load"]
    assert journal["load"]["errors"] == 0, journal["load"]
    (only,) = journal["load"]["targets"]  # a URL is one target, and no replica's edge
    assert (only["target"], only["requests"]) == ("", journal["load"]["requests"])
    carrying = [line for line in stack.log_lines("catalog-1") if trace_id in line]
    assert len(carrying) >= journal["load"]["requests"], "every request carried the header"
    assert not [line for line in stack.log_lines("catalog-2") if trace_id in line]
    assert_clean(stack)
