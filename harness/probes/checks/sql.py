"""The SQL check: every acknowledged request's key must come back from one query.

The keys (`idempotency_key` or a field of each JSON body) are passed as `%(keys)s`, an
array of strings sent untyped (PostgreSQL gives it the type of what it is compared
with: a uuid column needs no cast), and compared with the first column's values as
text. The session is
read-only, connecting waits at most CONNECT_TIMEOUT seconds and the query at most
`statement_timeout`: a check never changes the data, nor hangs a run on a stuck
database. Any psycopg error (unreachable, timeout, a bad query) is an "error": it
says nothing about the data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from harness.load.generator import Record
from harness.probes.checks.common import CheckResult, Tally, acknowledged, no_data, value_of
from harness.specs.experiment import SqlCheck, SqlCheckSpec
from harness.specs.topology import Topology

__all__ = ["CONNECT_TIMEOUT", "check_sql"]

CONNECT_TIMEOUT = 5  # seconds; libpq's minimum is 2


def check_sql(check: SqlCheck, records: Sequence[Record], topo: Topology) -> CheckResult:
    """Run one SQL check against the topology's database."""
    spec = check.sql
    evidence = f"{spec.database}: {' '.join(spec.query.split())}"
    acked = acknowledged(records, spec.from_)
    if not acked:
        return no_data(check.name, "sql", records, spec.from_, evidence)
    started = time.time()
    keys = [value_of(r, spec.key) for r in acked]
    subject = f"{spec.from_.method} {spec.from_.path} by {spec.key} in {spec.database}"
    tally = Tally(len(acked))
    try:
        found = _found(spec, topo, list(dict.fromkeys(k for k in keys if k is not None)))
    except psycopg.Error as exc:
        tally.unanswered[f"could not query {spec.database}: {_one_line(exc)}"] = len(acked)
        return tally.result(check.name, "sql", subject, evidence, started)
    for key in keys:
        if key is None:
            tally.unanswered[f"with no {spec.key} in the response"] += 1
        elif key in found:
            tally.verified += 1
        else:
            tally.missing.append(key)
    return tally.result(check.name, "sql", subject, evidence, started)


def _found(spec: SqlCheckSpec, topo: Topology, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    pg = topo.postgres
    ms = max(1, round(spec.statement_timeout * 1000))
    with psycopg.connect(
        host=topo.host,
        port=pg.port,
        user=pg.user,
        dbname=pg.database,
        connect_timeout=CONNECT_TIMEOUT,
        options=f"-c statement_timeout={ms} -c default_transaction_read_only=on",
    ) as conn:
        rows = conn.execute(spec.query.encode(), {"keys": keys}).fetchall()
    return {str(row[0]) for row in rows if row and row[0] is not None}


def _one_line(exc: psycopg.Error) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
