"""Checks on data after a run: no acknowledged write may be missing from the database."""

from __future__ import annotations

from typing import Any

import psycopg

from harness.load import LoadResult
from harness.topology import Topology

__all__ = ["acknowledged_writes_persisted"]


def acknowledged_writes_persisted(topo: Topology, load: LoadResult) -> dict[str, Any]:
    """Compare every POST the load generator got a 2xx for with the orders table."""
    acked = {
        r.idempotency_key: (r.body or {}).get("id")
        for r in load.records
        if r.idempotency_key and r.ok
    }
    pg = topo.postgres
    conninfo = (
        f"host={topo.host} port={pg.port} user={pg.user} dbname={pg.database} connect_timeout=5"
    )
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id::text FROM orders WHERE idempotency_key = ANY(%s)",
            (list(acked),),
        ).fetchall()
    stored: dict[str, str] = dict(rows)
    missing = [k for k in acked if k not in stored]
    mismatched = [k for k, oid in acked.items() if k in stored and oid and stored[k] != oid]
    ok = not missing and not mismatched
    detail = (
        f"{len(acked)} acknowledged writes, all in the database"
        if ok
        else f"{len(missing)} acknowledged writes missing, {len(mismatched)} with another id "
        f"(of {len(acked)})"
    )
    return {
        "name": "acknowledged-writes-persisted",
        "ok": ok,
        "acknowledged": len(acked),
        "missing": missing[:20],
        "mismatched": mismatched[:20],
        "detail": detail,
    }
