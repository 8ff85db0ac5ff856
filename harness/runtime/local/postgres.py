"""A throwaway PostgreSQL cluster of the run directory: initdb for every new stack, its
schema on every start (`harness down` removes the cluster: RunDir.forget_postgres)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from harness.errors import StackError
from harness.specs.topology import Topology

__all__ = ["apply_schema", "init_cluster", "ping"]


def init_cluster(initdb: Path, data: Path, user: str | None, db_user: str, log: Path) -> None:
    """Create the cluster unless it exists; owned by `user` (postgres refuses root)."""
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(data, user=user, group=user)
    os.chmod(data, 0o700)
    with log.open("ab") as out:
        proc = subprocess.run(
            [
                str(initdb),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                db_user,
                "-E",
                "UTF8",
                "--no-instructions",
            ],
            user=user,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
    if proc.returncode != 0:
        raise StackError(f"initdb failed (exit {proc.returncode}): see {log}")


def _conninfo(topo: Topology, dbname: str) -> str:
    pg = topo.postgres
    return f"host={topo.host} port={pg.port} user={pg.user} dbname={dbname} connect_timeout=2"


def ping(topo: Topology) -> bool:
    """True when the server accepts a connection and answers a query."""
    try:
        with psycopg.connect(_conninfo(topo, "postgres"), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def apply_schema(topo: Topology) -> None:
    """Create the topology's database if missing and run its `init_sql` (which the
    topology's author makes idempotent: it runs on every start)."""
    db = topo.postgres.database
    with psycopg.connect(_conninfo(topo, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    if topo.postgres.init_sql is None:
        return
    schema = topo.postgres.init_sql.read_text(encoding="utf-8")
    with psycopg.connect(_conninfo(topo, db), autocommit=True) as conn:
        conn.execute(schema)  # type: ignore[arg-type]  # the topology author's own file
