"""Checks on data after a run: no acknowledged write may be missing from the database."""

from __future__ import annotations

from typing import Any

import psycopg

from harness.load.generator import LoadResult
from harness.specs.topology import Topology

__all__ = ["STATEMENT_TIMEOUT_MS", "acknowledged_writes_persisted"]

STATEMENT_TIMEOUT_MS = 5000  # the check must never hang a run on a stuck database


def acknowledged_writes_persisted(topo: Topology, load: LoadResult) -> dict[str, Any]:
    """Compare every POST the load generator got a 2xx for with the orders table.

    Zero acknowledged writes is "no data", not a pass: nothing was proven. A database
    that cannot be reached (or answer within the statement timeout) is an "error".
    """
    acked = {
        r.idempotency_key: (r.body or {}).get("id")
        for r in load.records
        if r.idempotency_key and r.ok
    }
    if not acked:
        return _result("no data", acked, [], [], "no write was acknowledged: nothing to check")
    try:
        stored = _stored(topo, list(acked))
    except psycopg.Error as exc:
        detail = f"the acknowledged-writes check could not query the database: {exc}".strip()
        return _result("error", acked, [], [], detail)
    missing = [k for k in acked if k not in stored]
    mismatched = [k for k, oid in acked.items() if k in stored and oid and stored[k] != oid]
    if not missing and not mismatched:
        return _result(
            "pass", acked, [], [], f"{len(acked)} acknowledged writes, all in the database"
        )
    detail = (
        f"{len(missing)} acknowledged writes missing, {len(mismatched)} with another id "
        f"(of {len(acked)})"
    )
    return _result("fail", acked, missing, mismatched, detail)


def _stored(topo: Topology, keys: list[str]) -> dict[str, str]:
    pg = topo.postgres
    conninfo = (
        f"host={topo.host} port={pg.port} user={pg.user} dbname={pg.database} "
        f"connect_timeout=5 options='-c statement_timeout={STATEMENT_TIMEOUT_MS}'"
    )
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id::text FROM orders WHERE idempotency_key = ANY(%s)",
            (keys,),
        ).fetchall()
    return dict(rows)


def _result(
    status: str, acked: dict[str, Any], missing: list[str], mismatched: list[str], detail: str
) -> dict[str, Any]:
    return {
        "name": "acknowledged-writes-persisted",
        "status": status,
        "ok": status == "pass",
        "acknowledged": len(acked),
        "missing": missing[:20],
        "mismatched": mismatched[:20],
        "detail": detail,
    }
