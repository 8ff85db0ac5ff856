"""Run experiments on the real stack from tests: write one, run it, read its journal."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path

from harness.clients.toxiproxy import ToxiproxyClient
from harness.safety.journal import read_events
from tests.integration.conftest import await_healthy
from tests.integration.stackfixture import HARNESS, ROOT, Stack, harness
from tests.waiting import wait_for

AVAILABILITY = """
  - name: availability
    query: |
      sum(rate(http_server_requests_total{service="gateway",code!~"5.."}[10s]))
        / sum(rate(http_server_requests_total{service="gateway"}[10s]))
    op: ">="
    threshold: 0.95
"""

LOAD = """
load:
  rate: 15
  routes:
    - {method: GET, path: /products, weight: 2}
    - {method: POST, path: /orders, weight: 2, json: {product_id: 1, quantity: 1}}
"""


def experiment(
    tmp: Path,
    name: str,
    targets: str,
    faults: str,
    *,
    guardrails: str = "",
    expectations: str = "",
    blast: str = "max_duration: 30s",
    steady: str = AVAILABILITY,
    load: str = LOAD,
) -> Path:
    text = f"""
version: harness/v1
name: {name}
hypothesis: test {name}
settle: 3s
targets:
{textwrap.indent(textwrap.dedent(targets).strip(), "  ")}
faults:
{textwrap.indent(textwrap.dedent(faults).strip(), "  ")}
{load}
steady_state:{steady}
guardrails:{guardrails or " []"}
expectations:
  recovery_within: 30s
{textwrap.indent(textwrap.dedent(expectations).strip(), "  ")}
blast_radius:
  {blast}
"""
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def run_args(stack: Stack, path: Path, tmp: Path) -> list[str]:
    """`harness run` arguments for this stack, with outputs under `tmp/runs`."""
    return [
        "run",
        str(path),
        "--stack",
        str(stack.stack_file),
        "--stack-dir",
        str(stack.run_dir),
        "--results-dir",
        str(tmp / "runs"),
    ]


def run(
    stack: Stack, path: Path, tmp: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
    result = harness(*run_args(stack, path, tmp), *extra, timeout=300)
    journals = sorted((tmp / "runs").glob("*/journal.json"))
    journal = json.loads(journals[-1].read_text()) if journals else {}
    return result, journal


def assert_clean(stack: Stack) -> None:
    """No toxic anywhere, every proxy enabled, every replica up and ready."""
    with ToxiproxyClient(stack.toxiproxy) as tp:
        proxies = tp.proxies()
    assert all(p.enabled for p in proxies.values()), [
        n for n, p in proxies.items() if not p.enabled
    ]
    assert all(not p.toxics for p in proxies.values()), {
        n: p.toxics for n, p in proxies.items() if p.toxics
    }
    await_healthy(stack)
    assert not (stack.run_dir / "active-run.json").exists()


def kill_and_await_watchdog(stack: Stack, proc: subprocess.Popen[str], what: str) -> float:
    """SIGKILL a running harness, then wait for its watchdog to remove every toxic; the
    seconds that took (a failure past 15 s)."""
    killed_at = time.monotonic()
    proc.kill()
    proc.communicate(timeout=10)
    with ToxiproxyClient(stack.toxiproxy) as tp:
        wait_for(lambda: not any(p.toxics for p in tp.proxies().values()), 15, what)
    return time.monotonic() - killed_at


def events(journal: dict, kind: str) -> list[dict]:
    return [e for e in journal["events"] if e["event"] == kind]


def start_run(stack: Stack, path: Path, tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [*HARNESS, *run_args(stack, path, tmp)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def applied() -> Path | None:
        for j in (tmp / "runs").glob("*/journal.jsonl"):
            if any(e["event"] == "fault.applied" for e in read_events(j)):
                return j
        return None

    return proc, wait_for(applied, 60, "the fault to be applied")


def long_latency(tmp: Path, name: str) -> Path:
    return experiment(
        tmp,
        name,
        """
        two-catalog: {service: catalog, count: 1}
    """,
        """
        - {type: latency, target: two-catalog, latency_ms: 100, duration: 40s}
    """,
        blast="max_targets: 1\n  max_duration: 60s",
    )
