"""Breach → rollback, side by side: Chaos Toolkit vs `harness`, same stack, same fault.

The fault is experiments/orders-database-down.yaml's: the three `orders-N_postgres`
Toxiproxy proxies disabled (connections refused), 40 s, so POST /orders fails and the
error-ratio SLO breaks the moment it is applied. Both tools judge the same PromQL
guardrail (5xx ratio at the gateway over 5 s < 0.1, every 1 s) and must roll back:

* harness: `harness run` on a generated experiment (guardrail → abort → rollback);
* Chaos Toolkit (its own virtualenv, bench/.ctk-venv, installed from PyPI if missing):
  bench/ctk/orders-database-down.json run with `--rollback-strategy=always`, the
  guardrail as a chaostoolkit-addons safeguard (`--ctk-mode safeguards`), as a
  continuous hypothesis with `--fail-fast` (`continuous`), or both (`both`, default).

Measured the same way for both, independent of either tool: a thread polls Toxiproxy
`GET /proxies` every 50 ms; t_fault is the first poll that sees all three proxies
disabled, t_rollback the first after it that sees all three enabled again, and
breach → rollback = t_rollback − t_fault. Each tool's own view is kept too (the
harness journal's detection/rollback seconds; CTK's journal and log). The same open
loop load (30 POST /orders per second) runs during every run, from 5 s before the tool
starts until it exits. Runs alternate (harness, CTK, harness, ...) and each waits for
a healthy shop (orders replicas ready, no gateway 5xx for 15 s, proxies enabled).
A CTK run that leaves the proxies disabled is restored here and flagged "no rollback".

    .venv/bin/python -m bench.ctk_compare [--runs 5] [--ctk-mode both] [--ctk-frequency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import db_down_experiment, save
from harness.clients.toxiproxy import ToxiproxyClient
from harness.load.generator import LoadResult, Route, run_load

ROOT = Path(__file__).resolve().parent.parent
CTK_DIR = ROOT / "bench" / "ctk"
CTK_VENV = ROOT / "bench" / ".ctk-venv"
CTK_TEMPLATE = CTK_DIR / "orders-database-down.json"
CTK_PACKAGES = ("chaostoolkit", "chaostoolkit-addons")
PROXIES = ("orders-1_postgres", "orders-2_postgres", "orders-3_postgres")
FAULT_SECONDS = 40
LOAD_RATE = 30.0
LEAD_SECONDS = 5.0  # load before the tool starts, so the rate windows fill
POLL_SECONDS = 0.05
TOOL_TIMEOUT = 180.0
QUIET_QUERY = (
    'sum(increase(http_server_requests_total{service="gateway",code=~"5.."}[15s])) or vector(0)'
)

HARNESS_EXPERIMENT = db_down_experiment("bench-ctk-compare", FAULT_SECONDS)

# --harness-guardrails client: the harness also drives its own 30 POST/s (on top of the
# shared load both tools get) and guards on what those users see, with no scrape to wait for
CLIENT_GUARDRAIL = f"""
settle: 3s
load:
  rate: {LOAD_RATE:g}
  routes:
    - {{method: POST, path: /orders, json: {{product_id: 1, quantity: 1}}}}
"""
CLIENT_PROBE = """
  - name: client-errors
    metric: error_ratio
    window: 1s
    op: "<"
    threshold: 0.1
"""


def harness_experiment(guardrails: str) -> str:
    if guardrails == "promql":
        return HARNESS_EXPERIMENT
    text = HARNESS_EXPERIMENT.replace("guardrails:\n", "guardrails:" + CLIENT_PROBE, 1)
    return text + CLIENT_GUARDRAIL


@dataclass(frozen=True)
class Stack:
    shop: str
    prometheus: str
    toxiproxy: str
    orders_ports: tuple[int, ...]

    @classmethod
    def from_state(cls, run_dir: Path) -> Stack:
        state = json.loads((run_dir / "state.json").read_text())
        ports = tuple(c["port"] for c in state["components"] if c.get("service") == "orders")
        urls = state["urls"]
        return cls(next(u for k, u in urls.items() if k.endswith("(entry)")), urls["prometheus"], urls["toxiproxy"], ports)


# --- Chaos Toolkit: install, experiment, run -------------------------------------------


def ensure_ctk() -> str:
    """Create bench/.ctk-venv with Chaos Toolkit from PyPI unless it is there; its versions."""
    chaos = CTK_VENV / "bin" / "chaos"
    if not chaos.exists():
        print(f"installing {' '.join(CTK_PACKAGES)} into {CTK_VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CTK_VENV)], check=True)
        pip = [str(CTK_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *CTK_PACKAGES], check=True)
    out = subprocess.run(
        [str(CTK_VENV / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wanted = {"chaostoolkit", "chaostoolkit-lib", "chaostoolkit-addons"}
    return ", ".join(f"{p['name']} {p['version']}" for p in json.loads(out) if p["name"] in wanted)


def ctk_experiment(mode: str, frequency: float) -> dict[str, Any]:
    """The template, with the safeguard's frequency set (or the safeguard removed)."""
    exp = json.loads(CTK_TEMPLATE.read_text())
    exp["method"][-1]["pauses"] = {"after": FAULT_SECONDS}
    if mode == "continuous":
        exp.pop("controls")
    else:
        for probe in exp["controls"][0]["provider"]["arguments"]["probes"]:
            probe["frequency"] = frequency
    return exp


def ctk_command(exp: Path, work: Path, mode: str, frequency: float) -> list[str]:
    cmd = [
        str(CTK_VENV / "bin" / "chaos"),
        "--no-version-check",
        "--log-file",
        str(work / "chaostoolkit.log"),
        "--settings",
        str(work / "settings.yaml"),
        "run",
        str(exp),
        "--journal-path",
        str(work / "journal.json"),
    ]
    return cmd + ctk_flags(mode, frequency)


def ctk_flags(mode: str, frequency: float) -> list[str]:
    """`chaos run` options: always roll back; a fail-fast continuous hypothesis if asked."""
    flags = ["--rollback-strategy=always"]
    if mode in ("continuous", "both"):
        flags += ["--hypothesis-strategy=continuously", f"--hypothesis-frequency={frequency}"]
        flags += ["--fail-fast"]
    return flags


def run_ctk(work: Path, stack: Stack, mode: str, frequency: float) -> dict[str, Any]:
    exp = work / "experiment.json"
    exp.write_text(json.dumps(ctk_experiment(mode, frequency), indent=2))
    env = {
        **os.environ,
        "PYTHONPATH": str(CTK_DIR),
        "TOXIPROXY_URL": stack.toxiproxy,
        "PROMETHEUS_URL": stack.prometheus,
    }
    code = run_logged(ctk_command(exp, work, mode, frequency), work, env)
    return {"exit_code": code, **ctk_view(work)}


def _iso(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def ctk_view(work: Path) -> dict[str, Any]:
    """What CTK itself saw: status, who stopped it, its fault → rollback time."""
    journal_path = work / "journal.json"
    log = (work / "chaostoolkit.log").read_text() if (work / "chaostoolkit.log").exists() else ""
    if not journal_path.exists():
        return {"status": "no journal"}
    journal = json.loads(journal_path.read_text())
    during = journal["steady_states"].get("during") or []
    view: dict[str, Any] = {
        "status": journal["status"],
        "deviated": journal["deviated"],
        "safeguard_triggered": bool(re.search(r"Safeguard '.*' triggered", log)),
        "continuous_hypothesis_failed": any(not s["steady_state_met"] for s in during if s),
        "continuous_hypothesis_iterations": len(during),
    }
    actions = [r for r in journal.get("run") or [] if r["activity"]["type"] == "action"]
    rollbacks = journal.get("rollbacks") or []
    if actions and rollbacks:
        fault_on = max(_iso(r["end"]) for r in actions)
        rollback_start = min(_iso(r["start"]) for r in rollbacks)
        view["fault_to_rollback_seconds"] = round(
            max(_iso(r["end"]) for r in rollbacks) - fault_on, 3
        )
        view["pause_cut_short"] = rollback_start - fault_on < FAULT_SECONDS - 1
    return view


# --- harness ------------------------------------------------------------------------


def run_harness(work: Path, stack_file: Path, run_dir: Path, guardrails: str) -> dict[str, Any]:
    exp = work / "bench-ctk-compare.yaml"
    exp.write_text(harness_experiment(guardrails))
    runs = work / "runs"
    cmd = [sys.executable, "-m", "harness", "run", str(exp), "--stack", str(stack_file)]
    cmd += ["--stack-dir", str(run_dir), "--results-dir", str(runs)]
    code = run_logged(cmd, work, dict(os.environ))
    journals = sorted(runs.glob("*/journal.json"))
    if not journals:
        return {"exit_code": code, "verdict": "no journal"}
    journal = json.loads(journals[-1].read_text())
    figures = journal.get("figures", {})
    return {
        "exit_code": code,
        "verdict": journal.get("verdict"),
        "detection_seconds": figures.get("detection_seconds"),
        "rollback_seconds": figures.get("rollback_seconds"),
    }


def harness_source() -> dict[str, Any]:
    """The commit the harness runs from, and its files modified in the work tree (read-only git)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip()

    modified = [line[3:] for line in git("status", "--porcelain", "--", "harness").splitlines()]
    return {"commit": git("rev-parse", "HEAD"), "modified": modified}


def run_logged(cmd: list[str], work: Path, env: dict[str, str]) -> int | str:
    """Run a tool to completion (bounded), its output in work/; the exit code or 'timeout'."""
    with (work / "stdout.log").open("w") as out, (work / "stderr.log").open("w") as err:
        try:
            return subprocess.run(
                cmd, cwd=work, env=env, stdout=out, stderr=err, timeout=TOOL_TIMEOUT, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            return "timeout"


# --- measurement: Toxiproxy poller, load, health -------------------------------------


@dataclass
class ProxyWatch:
    """Poll GET /proxies every 50 ms: first all-disabled, then first all-enabled again."""

    url: str
    fault_at: float | None = None
    rollback_at: float | None = None
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ProxyWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def wait_rollback(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.rollback_at is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        return self.rollback_at is not None

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=1.0) as http:
            next_poll = time.monotonic()
            while not self._stop.is_set():
                self._observe(http)
                next_poll += POLL_SECONDS
                self._stop.wait(max(0.0, next_poll - time.monotonic()))

    def _observe(self, http: httpx.Client) -> None:
        try:
            data = http.get("/proxies").json()
        except (httpx.HTTPError, ValueError):
            self.errors += 1
            return
        seen = time.monotonic()
        enabled = [data[name]["enabled"] for name in PROXIES]
        if self.fault_at is None and not any(enabled):
            self.fault_at = seen
        elif self.fault_at is not None and self.rollback_at is None and all(enabled):
            self.rollback_at = seen


@dataclass
class Load:
    """harness.load.run_load (open loop, POST /orders) in a thread until stopped."""

    url: str
    rate: float = LOAD_RATE
    result: LoadResult | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any] | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.result.summary() if self.result else None

    def _run(self) -> None:
        route = Route("POST", "/orders", json={"product_id": 1, "quantity": 1})
        self.result = asyncio.run(
            run_load(self.url, self.rate, 3600, [route], timeout=5.0, stop=self._stop)
        )


def restore(toxiproxy: str) -> list[str]:
    """Re-enable any of the three proxies left disabled; the names it had to fix."""
    with ToxiproxyClient(toxiproxy) as tp:
        left = [p.name for p in tp.proxies().values() if p.name in PROXIES and not p.enabled]
        for name in left:
            tp.set_enabled(name, True)
        return left


def healthy(stack: Stack, http: httpx.Client) -> bool:
    try:
        ready = all(
            http.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200
            for port in stack.orders_ports
        )
        proxies = http.get(f"{stack.toxiproxy}/proxies").json()
        resp = http.get(f"{stack.prometheus}/api/v1/query", params={"query": QUIET_QUERY})
        result = resp.json()["data"]["result"]
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    enabled = all(proxies[name]["enabled"] and not proxies[name]["toxics"] for name in PROXIES)
    quiet = bool(result) and float(result[0]["value"][1]) == 0.0
    return ready and enabled and quiet


def wait_healthy(stack: Stack, timeout: float = 180.0) -> float:
    """Block until the shop is healthy and quiet (then 2 s more); seconds waited."""
    start = time.monotonic()
    with httpx.Client(timeout=2.0) as http:
        while not healthy(stack, http):
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"shop not healthy after {timeout:g}s; try `harness recover`")
            time.sleep(1.0)
    time.sleep(2.0)
    return round(time.monotonic() - start, 1)


# --- one run, summary, main ----------------------------------------------------------


def one_run(tool: str, work: Path, stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Load on → (5 s) → the tool → poller's breach → rollback; restore if it did not."""
    work.mkdir(parents=True)
    waited = wait_healthy(stack)
    watch = ProxyWatch(stack.toxiproxy).start()
    load = Load(stack.shop).start()
    try:
        time.sleep(LEAD_SECONDS)
        if tool == "harness":
            own = run_harness(work, args.stack, args.run_dir, args.harness_guardrails)
        else:
            own = run_ctk(work, stack, args.ctk_mode, args.ctk_frequency)
        rolled_back = watch.fault_at is None or watch.wait_rollback(2.0)
        restored = [] if rolled_back else restore(stack.toxiproxy)
        if restored:
            watch.wait_rollback(5.0)
    finally:
        load_summary = load.stop()
        watch.stop()
        leftover = restore(stack.toxiproxy)
    seconds = None
    if watch.fault_at is not None and watch.rollback_at is not None:
        seconds = round(watch.rollback_at - watch.fault_at, 3)
    return {
        "tool": tool,
        "breach_to_rollback": seconds,
        "fault_seen": watch.fault_at is not None,
        "no_rollback": bool(restored),  # we restored the proxies after the tool exited
        "restored_by_bench": restored or leftover,
        "poll_errors": watch.errors,
        "healthy_wait_seconds": waited,
        "own": own,
        "load": load_summary,
    }


def quantiles(values: list[float]) -> dict[str, float | int] | None:
    if not values:
        return None
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"n": len(ordered), "p50": pick(0.5), "p95": pick(0.95), "max": ordered[-1]}


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    per_tool = {
        tool: quantiles(
            [
                s["breach_to_rollback"]
                for s in samples
                if s["tool"] == tool and s["breach_to_rollback"] is not None
            ]
        )
        for tool in ("harness", "ctk")
    }
    ours, theirs = per_tool["harness"], per_tool["ctk"]
    summary: dict[str, Any] = {"breach_to_rollback": per_tool}
    if ours and theirs:
        ratio = {q: round(theirs[q] / ours[q], 2) for q in ("p50", "p95")}
        summary["ratio_ctk_over_harness"] = ratio
        summary["target"] = {
            "harness_p95_le_3s": ours["p95"] <= 3.0,
            "at_least_2x_faster": min(ratio.values()) >= 2.0,
        }
        summary["target"]["holds"] = all(summary["target"].values())
    summary["ctk_no_rollback_runs"] = sum(1 for s in samples if s["no_rollback"])
    summary["runs_without_fault"] = sum(1 for s in samples if not s["fault_seen"])
    return summary


def print_sample(i: int, s: dict[str, Any]) -> None:
    own = s["own"]
    if s["tool"] == "harness":
        extra = f"verdict {own.get('verdict')} detection {own.get('detection_seconds')}s rollback {own.get('rollback_seconds')}s"
    else:
        extra = (
            f"status {own.get('status')} safeguard {own.get('safeguard_triggered')} "
            f"hypothesis-failed {own.get('continuous_hypothesis_failed')} "
            f"pause-cut-short {own.get('pause_cut_short')} own {own.get('fault_to_rollback_seconds')}s"
        )
    flag = "  NO ROLLBACK (restored by bench)" if s["no_rollback"] else ""
    print(
        f"run {i:>2} {s['tool']:<7} breach→rollback {s['breach_to_rollback']}s  {extra}{flag}",
        flush=True,
    )


def print_table(summary: dict[str, Any]) -> None:
    print(f"\n{'tool':<8}{'n':>3}{'p50 s':>9}{'p95 s':>9}{'max s':>9}")
    for tool, q in summary["breach_to_rollback"].items():
        if q:
            print(f"{tool:<8}{q['n']:>3}{q['p50']:>9.3f}{q['p95']:>9.3f}{q['max']:>9.3f}")
    if "ratio_ctk_over_harness" in summary:
        r, t = summary["ratio_ctk_over_harness"], summary["target"]
        print(f"CTK/harness: p50 {r['p50']}x  p95 {r['p95']}x")
        print(
            f"target (harness p95 ≤ 3 s and ≥ 2× faster): {'holds' if t['holds'] else 'MISSED'} {t}"
        )


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per tool (alternating)")
    ap.add_argument("--ctk-mode", choices=("both", "safeguards", "continuous"), default="both")
    ap.add_argument("--ctk-frequency", type=float, default=1.0, help="CTK guardrail period (s)")
    ap.add_argument(
        "--harness-guardrails",
        choices=("promql", "client"),
        default="promql",
        help="client: add a guardrail on the harness's own load (users' view)",
    )
    ap.add_argument("--stack", type=Path, default=ROOT / "stack.yaml")
    ap.add_argument("--run-dir", type=Path, default=ROOT / ".run")
    ap.add_argument("--keep", type=Path, help="keep each run's files here (default: a temp dir)")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    versions = ensure_ctk()
    stack = Stack.from_state(args.run_dir)
    source = harness_source()
    if source["modified"]:
        print(f"note: harness has uncommitted changes: {', '.join(source['modified'])}")
    print(
        f"Chaos Toolkit: {versions}; mode {args.ctk_mode}, every {args.ctk_frequency:g}s",
        flush=True,
    )
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for i in range(args.runs):
            for tool in ("harness", "ctk"):
                sample = one_run(tool, base / f"{i + 1}-{tool}", stack, args)
                print_sample(i + 1, sample)
                samples.append(sample)
    summary = summarise(samples)
    print_table(summary)
    config = {
        "ctk_versions": versions,
        "ctk_mode": args.ctk_mode,
        "ctk_frequency_seconds": args.ctk_frequency,
        "ctk_flags": ctk_flags(args.ctk_mode, args.ctk_frequency),
        "harness_guardrails": args.harness_guardrails,
        "fault_seconds": FAULT_SECONDS,
        "load_rate": LOAD_RATE,
        "poll_seconds": POLL_SECONDS,
        "harness_source": source,
    }
    data = {"runs_per_tool": args.runs, "config": config, "summary": summary, "samples": samples}
    default = args.ctk_mode == "both" and args.ctk_frequency == 1.0
    name = "ctk_compare" if default else f"ctk_compare-{args.ctk_mode}-{args.ctk_frequency:g}s"
    if args.harness_guardrails != "promql":
        name += f"-harness-{args.harness_guardrails}"
    print(f"saved {save(name, data)}")


if __name__ == "__main__":
    main()
