"""Checks after the fault, declared in the experiment (`expectations.checks`).

Each kind is one module with one function that returns a `CheckResult`:

- `http`: read every acknowledged request back over HTTP, expect a status;
- `sql`: look every acknowledged request's key up in a database of the topology.

`common` holds the result, which requests are acknowledged, and how the status is
decided (no data, fail, error, pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.load.generator import Record
from harness.probes.checks.common import CheckResult, Status
from harness.probes.checks.http import check_http
from harness.probes.checks.sql import check_sql
from harness.specs.experiment import AnyCheck, SqlCheck
from harness.specs.topology import Topology

__all__ = ["CheckResult", "Status", "check_http", "check_sql", "run_check"]


def run_check(
    check: AnyCheck, records: Sequence[Record], *, base_url: str, topo: Topology, secrets_dir: Path
) -> CheckResult:
    """Run one declared check; `base_url` is the load's target (the HTTP default),
    `secrets_dir` the experiment file's directory (for `${file:PATH}`)."""
    if isinstance(check, SqlCheck):
        return check_sql(check, records, topo)
    return check_http(check, records, base_url, secrets_dir=secrets_dir)
