"""Start a real local stack for tests, on ports shifted away from the default stack.

Each stack gets its own run directory and port offset, so the tests never touch a
stack a developer has running with `make up`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from harness.runtime.local.state import StackState, read_state
from harness.specs.topology import Topology, load_topology

ROOT = Path(__file__).resolve().parents[2]
HARNESS = [sys.executable, "-m", "harness"]


def shifted_stack(
    dest: Path, offset: int, overrides: dict | None = None, source: Path = ROOT / "stack.yaml"
) -> Path:
    """Write a copy of a topology file with every port (and external address) moved by
    `offset`, and its relative paths made whole (the copy lives elsewhere)."""
    data = yaml.safe_load(source.read_text())
    base = source.resolve().parent
    for section in (
        "toxiproxy",
        "postgres",
        "redis",
        "prometheus",
        "alertmanager",
        "supervisor",
        "jaeger",
    ):
        # ports the file leaves at their defaults move too (alertmanager.receiver_port, ...)
        defaults = Topology.model_fields[section].get_default().model_dump()
        ports = {k: v for k, v in defaults.items() if "port" in k}
        given = data.get(section) or {}
        data[section] = given | {k: given.get(k, v) + offset for k, v in ports.items()}
    for svc in data["services"].values():
        for key, value in list(svc.items()):
            if "port" in key:
                svc[key] = value + offset
        if "external" in svc:
            svc["external"] = [_shift_address(a, offset) for a in svc["external"]]
        for part in ("command", "init"):  # an init runs where the file says, like command
            if part in svc:
                svc[part]["cwd"] = str(base / svc[part].get("cwd", "."))
    prom = data.setdefault("prometheus", {})
    prom["rules_dir"] = str(base / prom.get("rules_dir", "alert_rules"))
    if data.get("slo", {}).get("files"):
        data["slo"]["files"] = [str(base / f) for f in data["slo"]["files"]]
    if data.get("postgres", {}).get("init_sql"):
        data["postgres"]["init_sql"] = str(base / data["postgres"]["init_sql"])
    for path, value in (overrides or {}).items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def _shift_address(address: str, offset: int) -> str:
    host, _, port = address.rpartition(":")
    return f"{host}:{int(port) + offset}"


def harness(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARNESS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


@dataclass
class Stack:
    """A running stack: its topology, run directory and a few conveniences."""

    stack_file: Path
    run_dir: Path
    topo: Topology

    @property
    def state(self) -> StackState:
        state = read_state(self.run_dir / "state.json")
        assert state is not None, "the stack has no state file"
        return state

    @property
    def edge(self) -> str:
        return self.topo.edge_url()

    @property
    def prometheus(self) -> str:
        return f"http://{self.topo.host}:{self.topo.prometheus.port}"

    @property
    def toxiproxy(self) -> str:
        return f"http://{self.topo.host}:{self.topo.toxiproxy.port}"

    def replica_url(self, name: str) -> str:
        replica = next(r for r in self.topo.replicas if r.name == name)
        return f"http://{self.topo.host}:{replica.port}"

    def log_lines(self, component: str) -> list[str]:
        return (self.run_dir / "logs" / f"{component}.log").read_text(errors="replace").splitlines()

    def conninfo(self) -> str:
        pg = self.topo.postgres
        return f"host={self.topo.host} port={pg.port} user={pg.user} dbname={pg.database}"

    def promql(self, query: str) -> list[dict]:
        resp = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": query}, timeout=5)
        resp.raise_for_status()
        return resp.json()["data"]["result"]


def start_stack(
    tmp: Path, offset: int, overrides: dict | None = None, source: Path = ROOT / "stack.yaml"
) -> Stack:
    stack_file = shifted_stack(tmp / "stack.yaml", offset, overrides, source)
    run_dir = tmp / "run"
    result = harness("up", "--stack", str(stack_file), "--stack-dir", str(run_dir))
    if result.returncode != 0:
        harness("down", "--stack-dir", str(run_dir))
        raise RuntimeError(
            f"harness up failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return Stack(stack_file, run_dir, load_topology(stack_file))


def stop_stack(stack: Stack) -> None:
    harness("down", "--stack-dir", str(stack.run_dir))
