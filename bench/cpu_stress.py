"""cpu_stress: the target replica's p50 with and without the fault, per load setting.

Each run measures the p50 of `--requests` sequential GETs sent straight to the replica's
own port (no proxy between), first without the fault, then with the `cpu_stress` action
applied (the same action the engine journals and applies), which is reverted at once
after. The figure per load is the median over `--runs` runs (default 5) of each p50.
By default the bench starts a stack of its own on ports +5000 and takes it down after;
`--stack`/`--run-dir` measure a stack that is already up instead.

    .venv/bin/python -m bench.cpu_stress [--runs 5] [--loads 50,80,90] [--replica orders-1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from bench.common import save
from harness.clients.toxiproxy import ToxiproxyClient
from harness.faults import FaultEnv, FaultSpec, actions_for
from harness.runtime.local.runtime import LocalRuntime
from harness.specs.topology import Topology, load_topology


class _Planned:
    def __init__(self, spec: Any, replica: str) -> None:
        self.index, self.spec, self.replicas, self.links = 0, spec, (replica,), ()


def p50_ms(url: str, requests: int) -> float:
    took = []
    with httpx.Client(timeout=10) as client:
        client.get(url)  # the connection is open before the clock starts
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url)
            took.append(time.perf_counter() - start)
    return 1000 * statistics.median(took)


def one_run(env: FaultEnv, url: str, replica: str, load: int, requests: int) -> dict[str, float]:
    spec = TypeAdapter(FaultSpec).validate_python(
        {"type": "cpu_stress", "target": "bench", "duration": 60, "load": load}
    )
    without = p50_ms(url, requests)
    actions = actions_for(_Planned(spec, replica), env, f"bench-{int(time.time())}")  # type: ignore[arg-type]
    try:
        for action in actions:
            action.apply(env)
        with_fault = p50_ms(url, requests)
    finally:
        for action in reversed(actions):
            action.revert(env)
    return {"without_ms": round(without, 3), "with_ms": round(with_fault, 3)}


@contextmanager
def own_stack(offset: int) -> Iterator[tuple[Path, Path]]:
    from tests.integration.stackfixture import start_stack, stop_stack

    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp), offset=offset)
        try:
            yield stack.stack_file, stack.run_dir
        finally:
            stop_stack(stack)


def replica_url(topo: Topology, name: str) -> str:
    return f"http://{topo.host}:{topo.replica_named(name).port}"


def measure(stack_file: Path, run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    topo = load_topology(stack_file)
    url = replica_url(topo, args.replica) + args.path
    results: dict[str, Any] = {}
    with ToxiproxyClient(f"http://{topo.host}:{topo.toxiproxy.port}") as tp:
        env = FaultEnv(toxiproxy=tp, runtime=LocalRuntime(topo, run_dir))
        for load in args.loads:
            runs = [one_run(env, url, args.replica, load, args.requests) for _ in range(args.runs)]
            without = statistics.median(r["without_ms"] for r in runs)
            with_fault = statistics.median(r["with_ms"] for r in runs)
            print(
                f"load {load:>2}%: p50 {without:.2f} ms without, {with_fault:.2f} ms with "
                f"(x{with_fault / without:.1f})",
                flush=True,
            )
            results[str(load)] = {"without_ms": without, "with_ms": with_fault, "runs": runs}
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--loads", type=lambda s: [int(x) for x in s.split(",")], default=[50, 80, 90])
    ap.add_argument("--replica", default="orders-1")
    ap.add_argument("--path", default="/orders/1")
    ap.add_argument("--stack", type=Path, help="a stack already up (default: start one)")
    ap.add_argument("--run-dir", type=Path, default=Path(".run"))
    ap.add_argument("--offset", type=int, default=5000, help="ports of the bench's own stack")
    args = ap.parse_args()
    if args.stack is not None:
        results = measure(args.stack, args.run_dir, args)
    else:
        with own_stack(args.offset) as (stack_file, run_dir):
            results = measure(stack_file, run_dir, args)
    summary = {"replica": args.replica, "path": args.path, "runs": args.runs, "loads": results}
    print(f"saved {save('cpu_stress', summary)}")


if __name__ == "__main__":
    main()
