"""Pod deleted by the Kubernetes runtime → its replacement created, Running and Ready, on the
test bed (tests/k8s: a real API server, controllers and scheduler, kwok's fake pods).

Each run kills one pod of a 3-replica Deployment through `KubernetesRuntime.signal`
(SIGKILL: a delete with grace 0 and a uid precondition) and polls `kill_timing` every
10 ms until the replacement is Ready. The figures are the runtime's own (first seen,
bounded by the pods' timestamps), so this measures what a run journals. Needs
`make k8s`.

    .venv/bin/python -m bench.k8s_kill [--runs 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import median, save
from harness.runtime.base import Endpoints
from harness.runtime.kubernetes.runtime import KubernetesRuntime
from harness.specs.kubernetes import KubernetesSpec, PodSelector
from tests.k8s.testbed import TestBed
from tests.k8s.workloads import apply_deployment, await_ready
from tests.waiting import wait_for

NAMESPACE = "bench"
ENDPOINTS = Endpoints("http://prom.invalid", "http://am.invalid", "http://receiver.invalid")


def measure(bed: TestBed, runs: int, folder: Path) -> list[dict[str, float | None]]:
    api = bed.api()
    apply_deployment(api, NAMESPACE, "web", replicas=3)
    spec = KubernetesSpec(kubeconfig=bed.kubeconfig, namespaces=(NAMESPACE,))
    selector = {"web": PodSelector(labelSelectors={"app": "web"})}
    rt = KubernetesRuntime(spec, selector, ENDPOINTS, folder, run_dir=folder)
    rows = []
    for _ in range(runs):
        await_ready(api, NAMESPACE, "web", 3)
        victim = rt.instances()[0]
        assert rt.signal(victim, "SIGKILL")
        timing = wait_for(
            lambda v=victim: (t := rt.kill_timing(v)) and t.ready is not None and t,
            30,
            "the replacement Ready",
            interval=0.01,
        )
        rows.append({"created": timing.created, "running": timing.running, "ready": timing.ready})
        print(rows[-1])
    api.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TestBed(Path(tmp) / "bed") as bed:
        rows = measure(bed, args.runs, Path(tmp))
    medians = {k: median([r[k] for r in rows]) for k in ("created", "running", "ready")}
    print("medians (s):", medians)
    print("saved", save("k8s_kill", {"runs": rows, "median_seconds": medians}))


if __name__ == "__main__":
    main()
