"""Faults on the Kubernetes test bed, median of N each: a pod killed → its replacement
Ready; a Chaos Mesh object created → AllInjected; `harness run` SIGKILLed → every
object of its run deleted by its watchdog.

Its own bed (tests/k8s: etcd, API server, controllers, scheduler, kwok, the real Chaos
Mesh controller, on free ports) and a Prometheus beside it (preflight asks it). Needs
`make k8s`.

- kill: `KubernetesRuntime.signal(SIGKILL)` of one pod of three (`bench.k8s_kill`): the
  runtime's own figures, deleted → replacement created → Running → Ready.
- inject: a PodChaos pod-kill of one pod through `ChaosMesh.create` (create, then poll
  every 50 ms until AllInjected); then the pod replaced and the object deleted.
- watchdog: a real `harness run` of a 120 s pause (PodChaos pod-failure) on one pod of
  a `runtime: kubernetes` stack file; SIGKILLed as soon as its object exists; polled
  every 20 ms until no Chaos Mesh object carries the run's label. A run whose object
  outlives the deadline is counted as left behind (the bench then sweeps it itself),
  with the last line of its watchdog's log.

    .venv/bin/python -m bench.k8s_faults [--runs 5] [--only kill inject watchdog]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench import k8s_kill
from bench.common import median, save
from bench.k8sbed import (
    apply_deployments,
    await_ready_count,
    launch,
    prometheus,
    ready_uids,
    run_objects,
    stack_file,
)
from harness.runtime.base import Endpoints
from harness.runtime.kubernetes.chaosmanifests import Target, pod_kill
from harness.runtime.kubernetes.chaosmesh import ChaosMesh
from harness.runtime.kubernetes.labels import LABEL_RUN, run_labels
from harness.runtime.kubernetes.runtime import KubernetesRuntime
from harness.specs.kubernetes import ChaosMeshSpec, KubernetesSpec, PodSelector
from tests.k8s.kubeapi import KubeApi
from tests.k8s.testbed import TestBed
from tests.waiting import wait_for

RUN = "20261207T000000-be0c"
DEADLINE = 60.0  # seconds for the watchdog to delete the run's objects
PAUSE = """\
version: harness/v1
name: bench-k8s-pause
hypothesis: whatever kills the harness, its Chaos Mesh object goes
targets:
  web: {service: web, count: 1}
faults:
  - {type: pause, target: web, duration: 120s}
steady_state:
  - {name: up, query: "vector(1)", op: ">=", threshold: 1}
blast_radius:
  max_duration: 180s
"""


def measure_inject(bed: TestBed, runs: int, folder: Path) -> list[dict[str, float]]:
    """PodChaos pod-kill: create → AllInjected (ChaosMesh.create), then → pod replaced."""
    api, namespace = bed.api(), "bench-inject"
    apply_deployments(api, namespace, ["web"], 3)
    await_ready_count(api, namespace, 3, 30)
    spec = KubernetesSpec(kubeconfig=bed.kubeconfig, namespaces=(namespace,),
                          chaos_mesh=ChaosMeshSpec())  # fmt: skip
    runtime = KubernetesRuntime(spec, {"web": PodSelector(labelSelectors={"app": "web"})},
                                k8s_kill.ENDPOINTS, folder, run_dir=folder)  # fmt: skip
    engine = runtime.fault_objects()
    assert isinstance(engine, ChaosMesh)
    rows = []
    for n in range(runs):
        await_ready_count(api, namespace, 3, 30)
        before = ready_uids(api, namespace)
        victim = runtime.instances()[0].name.split("/", 1)[1]
        target = Target(f"bench-{n}", namespace, {namespace: (victim,)}, run_labels(RUN), 60)
        manifest = pod_kill(target)
        started = time.monotonic()
        engine.create(manifest)
        injected = time.monotonic() - started
        wait_for(partial(_replaced, api, namespace, before), 30, "the pod replaced", 0.01)
        rows.append({"injected": round(injected, 3),
                     "replaced": round(time.monotonic() - started, 3)})  # fmt: skip
        engine.delete(manifest)
        print("inject", rows[-1], flush=True)
    api.close()
    return rows


def _replaced(api: KubeApi, namespace: str, before: set[str]) -> bool:
    now = ready_uids(api, namespace)
    return len(now) == 3 and now != before


def measure_watchdog(bed: TestBed, prom_url: str, runs: int, folder: Path) -> list[dict[str, Any]]:
    """`harness run` SIGKILLed once its PodChaos exists → no object with its label left."""
    api, namespace = bed.api(), "bench-watchdog"
    apply_deployments(api, namespace, ["web"], 3)
    stack = stack_file(folder, bed, prom_url, namespace, {"web": "web"})
    exp = folder / "pause.yaml"
    exp.write_text(PAUSE)
    rows = []
    for n in range(runs):
        await_ready_count(api, namespace, 3, 30)
        here = folder / f"run-{n}"
        here.mkdir()
        rows.append(_kill_one(api, namespace, bed, launch(exp, stack, here, seed=n), here))
        print("watchdog", rows[-1], flush=True)
    api.close()
    return rows


def _kill_one(
    api: KubeApi, namespace: str, bed: TestBed, harness: subprocess.Popen[bytes], here: Path
) -> dict[str, Any]:
    try:
        objects = wait_for(lambda: run_objects(api, namespace), 60, "the run's object", 0.02)
    except AssertionError:
        harness.kill()
        raise RuntimeError(f"no object: {(here / 'harness.log').read_text()[-2000:]}") from None
    killed = time.monotonic()
    os.kill(harness.pid, signal.SIGKILL)
    harness.wait()
    run_id = _label(api, namespace, objects[0])
    gone = None
    try:
        wait_for(lambda: not run_objects(api, namespace, run_id), DEADLINE, "objects gone", 0.02)
        gone = round(time.monotonic() - killed, 3)
    except AssertionError:
        _sweep(bed, namespace, run_id)  # left behind: the bench removes it for the next run
    watchdog = _watchdog(here)
    return {"run_id": run_id, "objects": len(objects), "kill_to_gone": gone,
            "watchdog_said": watchdog}  # fmt: skip


def _label(api: KubeApi, namespace: str, ref: str) -> str:
    plural, name = ref.split("/")
    obj = api.get(f"/apis/chaos-mesh.org/v1alpha1/namespaces/{namespace}/{plural}/{name}")
    return obj["metadata"]["labels"][LABEL_RUN]


def _watchdog(here: Path) -> str:
    """Its last log line, once it has exited (killed by PID after 30 s: the bench's)."""
    journal = next((here / "runs").glob("*/journal.jsonl"))
    started = [json.loads(line) for line in journal.read_text().splitlines()
               if '"watchdog.started"' in line]  # fmt: skip
    pid = started[0]["watchdog_pid"] if started else None
    if pid is not None:
        try:
            wait_for(lambda: not _alive(pid), 30, f"watchdog {pid} exited", 0.1)
        except AssertionError:
            os.kill(pid, signal.SIGKILL)
    log = journal.parent / "watchdog.log"
    lines = log.read_text().splitlines() if log.exists() else ["(no log)"]
    return lines[-1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (its parent, the killed harness, is gone: init reaps it) counts as exited
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _sweep(bed: TestBed, namespace: str, run_id: str) -> None:
    spec = KubernetesSpec(kubeconfig=bed.kubeconfig, namespaces=(namespace,),
                          chaos_mesh=ChaosMeshSpec())  # fmt: skip
    rt = KubernetesRuntime(spec, {}, Endpoints("http://x.invalid", None, None), bed.root)
    engine = rt.fault_objects()
    assert isinstance(engine, ChaosMesh)
    engine.sweep(run_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="+", default=["kill", "inject", "watchdog"])
    args = parser.parse_args()
    result: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="k8s-faults-") as tmp,
        TestBed(Path(tmp) / "bed", chaos_mesh=True) as bed,
        prometheus(Path(tmp) / "prometheus") as prom_url,
    ):
        root = Path(tmp)
        if "kill" in args.only:
            (root / "kill").mkdir()
            rows = k8s_kill.measure(bed, args.runs, root / "kill")
            result["kill"] = {"runs": rows, "median_seconds": _medians(rows)}
        if "inject" in args.only:
            (root / "inject").mkdir()
            injects = measure_inject(bed, args.runs, root / "inject")
            result["inject"] = {"runs": injects, "median_seconds": _medians(injects)}
        if "watchdog" in args.only:
            (root / "watchdog").mkdir()
            rows = measure_watchdog(bed, prom_url, args.runs, root / "watchdog")
            left = sum(1 for r in rows if r["kill_to_gone"] is None)
            result["watchdog"] = {"runs": rows, "left_behind": left,
                                  "median_seconds": median([r["kill_to_gone"] for r in rows])}  # fmt: skip
    for what, figures in result.items():
        print(f"{what}: median (s) {figures['median_seconds']}")
    if "watchdog" in result:
        print(f"watchdog: runs that left an object behind: {result['watchdog']['left_behind']}")
    print("saved", save("k8s_faults", result))


def _medians(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    return {k: median([r[k] for r in rows]) for k in rows[0] if k not in ("run_id",)}


if __name__ == "__main__":
    main()
