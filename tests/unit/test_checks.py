"""The acknowledged-writes check: zero writes prove nothing, and a dead database is an error."""

from __future__ import annotations

import socket

from harness.load.generator import LoadResult, Record
from harness.probes.writes import acknowledged_writes_persisted
from tests.fakes import make_stack


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(key: str, status: int) -> Record:
    return Record("POST /orders", 0.0, 0.01, status, None, key, {"id": "1"})


def test_zero_acknowledged_writes_is_no_data_not_a_pass(tmp_path, children):
    topo = make_stack(tmp_path, children, apps=()).topo
    load = LoadResult([_post("k1", 503), Record("GET /products", 0.0, 0.01, 200)], 0.0, 1.0)
    check = acknowledged_writes_persisted(topo, load)
    assert (check["status"], check["ok"], check["acknowledged"]) == ("no data", False, 0)
    assert "nothing to check" in check["detail"]


def test_an_unreachable_database_is_an_error_not_a_verdict_on_the_data(tmp_path, children):
    topo = make_stack(tmp_path, children, apps=()).topo
    topo = topo.model_copy(
        update={"postgres": topo.postgres.model_copy(update={"port": _closed_port()})}
    )
    check = acknowledged_writes_persisted(topo, LoadResult([_post("k1", 201)], 0.0, 1.0))
    assert (check["status"], check["ok"], check["acknowledged"]) == ("error", False, 1)
    assert "could not query the database" in check["detail"]
