"""Scale on the Kubernetes test bed, with kwok's fake pods: 50 Deployments of 100 and of
1,000 pods in all (2 and 20 each), one topology service per Deployment. At each size:

- plan: what preflight does over the live pods, with a runtime built afresh as a run
  builds it (`runtime_for`): `serving_replicas` (each service's Ready pods) and
  `plan_experiment` of the 10% kill below; median of --repeat. Beside it, a fresh
  runtime's `instances()` alone (one listing per service): what serving adds to it is
  `ready()` of each pod.
- kill: a real `harness run` (no Chaos Mesh: kills are pod deletes through
  `KubernetesRuntime.signal`) of 10% of the pods: at 1,000 pods one kill fault of
  `count: 2` on each of the 50 services; at 100 pods `count: 1` on 10 of them. Read
  back from its journal: first fault applying → last applied, and each replica.back
  (killed → replacement Ready as the fault loop saw it, and the runtime's own
  deleted → created → Running → Ready).
- burst: the same pods SIGKILLed back to back through `KubernetesRuntime.signal` in this
  process, each replacement timed by the runtime (`kill_timing`).
- recover: a real `harness run` (with Chaos Mesh) pausing the same 10% (a PodChaos
  pod-failure per fault), crashed once every object exists: the harness frozen, its
  watchdog SIGKILLed, then the harness. Then `recover_journal` in this process with the
  runtime rebuilt from the journal (`journaled_runtime`), timed, and the objects left
  counted after it (every one must be gone).

The controllers run with their default client rate limits (kube-controller-manager:
20 requests/s, burst 30), as a cluster does unless tuned: creating 100 replacement
pods is bound by them. Needs `make k8s`.

    .venv/bin/python -m bench.k8s_scale [--pods 100 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from bench.common import median, save
from bench.k8sbed import (
    apply_deployments,
    await_ready_count,
    launch,
    prometheus,
    run_objects,
    stack_file,
)
from harness.experiment.plan import plan_experiment
from harness.experiment.serving import serving_replicas
from harness.faults import FaultEnv
from harness.runtime import Instance, runtime_for
from harness.runtime.kubernetes.runtime import KubernetesRuntime
from harness.safety.recover import journaled_runtime, recover_journal
from harness.specs.experiment import load_experiment
from harness.specs.topology import load_topology
from tests.k8s.kubeapi import KubeApi
from tests.k8s.testbed import TestBed
from tests.waiting import wait_for

DEPLOYMENTS = 50
NAMESPACE = "scale"
HEADER = """\
version: harness/v1
name: {name}
hypothesis: the fleet survives losing a tenth of its pods
steady_state:
  - {{name: up, query: "vector(1)", op: ">=", threshold: 1}}
blast_radius:
  max_duration: 600s
"""


def experiment(folder: Path, name: str, fault: str, per: int, services: int, seconds: int) -> Path:
    """`fault` on `per` pods of each of the first `services` services (one fault each)."""
    lines = [HEADER.format(name=name), "targets:"]
    lines += [f"  t{i:02d}: {{service: s{i:02d}, count: {per}}}" for i in range(services)]
    lines += ["faults:"]
    lines += [f"  - {{type: {fault}, target: t{i:02d}, duration: {seconds}s}}"
              for i in range(services)]  # fmt: skip
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure_plan(api: KubeApi, stack: Path, exp: Path, folder: Path, repeat: int) -> dict[str, Any]:
    """serving_replicas + plan_experiment through a runtime built afresh, `repeat` times,
    with the pod GETs and lists the API server counted meanwhile."""
    topo, spec = load_topology(stack), load_experiment(exp)
    rows = []
    for n in range(repeat):
        runtime = runtime_for(topo, stack, folder)
        calls = pod_calls(api)
        began = time.monotonic()
        live = serving_replicas(runtime, topo)
        served = time.monotonic()
        plan = plan_experiment(spec, topo, live, seed=n)
        done = time.monotonic()
        after = pod_calls(api)
        listed = time.monotonic()
        runtime_for(topo, stack, folder).instances()  # the listing alone, for comparison
        rows.append({"serving": round(served - began, 3), "plan": round(done - served, 3),
                     "total": round(done - began, 3), "listing": round(time.monotonic() - listed, 3),
                     "live": len(live), "targets": len(plan.replicas),
                     **{k: after[k] - calls[k] for k in calls}})  # fmt: skip
        print("plan", rows[-1], flush=True)
    keys = ("serving", "plan", "total", "listing")
    return {"runs": rows, "median_seconds": {k: median([r[k] for r in rows]) for k in keys}}


def pod_calls(api: KubeApi) -> dict[str, int]:
    """GET and LIST requests on pods the API server has answered so far (its /metrics)."""
    counts = {"pod_gets": 0, "pod_lists": 0}
    for line in api.http.get("/metrics").text.splitlines():
        if line.startswith("apiserver_request_total{") and 'resource="pods"' in line:
            verb = line.split('verb="', 1)[1].split('"', 1)[0]
            if 'subresource=""' in line and verb in ("GET", "LIST"):
                counts[f"pod_{verb.lower()}s"] += int(float(line.rsplit(" ", 1)[1]))
    return counts


def measure_burst(stack: Path, folder: Path, per: int, services: int) -> dict[str, Any]:
    """The same 10% SIGKILLed back to back through `KubernetesRuntime.signal`, then each
    replacement timed by the runtime (`kill_timing`: a service's listing per look)."""
    topo = load_topology(stack)
    runtime = runtime_for(topo, stack, folder)
    assert isinstance(runtime, KubernetesRuntime)
    names = sorted(topo.services)[:services]
    victims = [i for name in names for i in runtime.instances(name)[:per]]
    began = time.monotonic()
    for victim in victims:
        assert runtime.signal(victim, "SIGKILL"), victim.name
    deleted = time.monotonic() - began
    pending = list(victims)
    while pending and time.monotonic() - began < 300:
        # a look at a kill not Ready lists its service: every kill of it is updated
        pending = [v for v in pending if _ready(runtime, v) is None]
    timings = [runtime.kill_timing(v) for v in victims]
    result = {"kills": len(victims), "all_deleted": round(deleted, 3),
              "all_ready": round(time.monotonic() - began, 3) if not pending else None,
              "deleted_to_ready": _spread([t.ready for t in timings if t and t.ready]),
              "deleted_to_created": _spread([t.created for t in timings if t and t.created])}  # fmt: skip
    print("burst", result, flush=True)
    return result


def _ready(runtime: KubernetesRuntime, victim: Instance) -> float | None:
    timing = runtime.kill_timing(victim)
    return timing.ready if timing is not None else None


def measure_kill(stack: Path, exp: Path, folder: Path) -> dict[str, Any]:
    """A real run of the 10% kill; its figures from the journal."""
    began = time.monotonic()
    harness = launch(exp, stack, folder)
    code = harness.wait(timeout=900)
    wall = time.monotonic() - began
    events = _events(folder)
    applying = [e["time"] for e in events if e["event"] == "fault.applying"]
    applied = [e["time"] for e in events if e["event"] == "fault.applied"]
    back = [e for e in events if e["event"] == "replica.back"]
    stages = [e["stages"] for e in back if e.get("stages")]
    ready = [s["ready"] for s in stages if s.get("ready") is not None]
    result = {
        "exit": code, "wall": round(wall, 2), "kills": len(applied), "back": len(back),
        "inject_first_to_last": round(max(applied) - min(applying), 3) if applied else None,
        "killed_to_ready": _spread([e["seconds"] for e in back]),
        "loop_saw_ready": _spread(_loop_saw(events, back)),
        "runtime_deleted_to_ready": _spread(ready),
        "runtime_deleted_to_created": _spread([s["created"] for s in stages
                                               if s.get("created") is not None]),
    }  # fmt: skip
    print("kill", result, flush=True)
    return result


def measure_recover(
    api: KubeApi, stack: Path, exp: Path, folder: Path, faults: int
) -> dict[str, Any]:
    """Crash a run once its `faults` objects exist (harness frozen, watchdog SIGKILLed,
    harness SIGKILLed); then recover_journal through the runtime rebuilt from the journal."""
    harness = launch(exp, stack, folder)
    try:
        wait_for(lambda: _count(folder, "fault.applied") >= faults, 300,
                 f"{faults} faults applied", interval=0.2)  # fmt: skip
    except AssertionError:
        harness.kill()
        raise
    os.kill(harness.pid, signal.SIGSTOP)
    watchdog = next(e["watchdog_pid"] for e in _events(folder) if e["event"] == "watchdog.started")
    os.kill(watchdog, signal.SIGKILL)
    os.kill(harness.pid, signal.SIGKILL)
    harness.wait()
    objects = run_objects(api, NAMESPACE)
    journal = _journal(folder)
    began = time.monotonic()
    runtime = journaled_runtime(journal, default=None)  # type: ignore[arg-type]
    report = recover_journal(journal, FaultEnv(None, runtime), "bench")
    seconds = time.monotonic() - began
    result = {"objects_before": len(objects), "reverted": len(report.reverted),
              "failed": report.failed, "seconds": round(seconds, 3),
              "objects_after": len(run_objects(api, NAMESPACE))}  # fmt: skip
    print("recover", result, flush=True)
    return result


def _loop_saw(events: list[dict[str, Any]], back: list[dict[str, Any]]) -> list[float]:
    """Each kill's fault.applying → its replica.back, as journaled (the fault loop sees a
    replacement Ready when it next looks: every guard interval, every kill in turn)."""
    applying = {e["action"].get("replica"): e["time"] for e in events
                if e["event"] == "fault.applying"}  # fmt: skip
    return [e["time"] - applying[e["killed"]] for e in back if e.get("killed") in applying]


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "median": None, "max": None}
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}  # fmt: skip


def _journal(folder: Path) -> Path:
    return next((folder / "runs").glob("*/journal.jsonl"))


def _events(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _journal(folder).read_text().splitlines() if line]


def _count(folder: Path, event: str) -> int:
    try:
        return sum(1 for e in _events(folder) if e["event"] == event)
    except (StopIteration, json.JSONDecodeError):  # no journal yet, a line half written
        return 0


def one_size(bed: TestBed, prom_url: str, pods: int, repeat: int, root: Path) -> dict[str, Any]:
    per_deployment = pods // DEPLOYMENTS
    folder = root / f"pods-{pods}"
    folder.mkdir()
    api = bed.api()
    names = [f"d{i:02d}" for i in range(DEPLOYMENTS)]
    began = time.monotonic()
    apply_deployments(api, NAMESPACE, names, per_deployment)
    ready = await_ready_count(api, NAMESPACE, pods, 900)
    print(f"{pods} pods Ready in {time.monotonic() - began:.1f} s", flush=True)
    services = {f"s{i:02d}": name for i, name in enumerate(names)}
    plain = stack_file(folder, bed, prom_url, NAMESPACE, services, chaos_mesh=False)
    with_cm = stack_file(folder, bed, prom_url, NAMESPACE, services, name="stack-cm.yaml")
    per, hit = max(1, per_deployment // 10), pods // 10  # pods hit per service, in all
    faults = min(DEPLOYMENTS, hit // per)
    kill = experiment(folder, "scale-kill", "kill", per, faults, 5)
    pause = experiment(folder, "scale-pause", "pause", per, faults, 300)
    result: dict[str, Any] = {"pods": pods, "deployments": DEPLOYMENTS, "targets": hit,
                              "ready_seconds": round(ready, 1)}  # fmt: skip
    result["plan"] = measure_plan(api, plain, kill, folder / "plan", repeat)
    (folder / "kill").mkdir()
    result["kill"] = measure_kill(plain, kill, folder / "kill")
    await_ready_count(api, NAMESPACE, pods, 300)
    (folder / "burst").mkdir()
    result["burst"] = measure_burst(plain, folder / "burst", per, faults)
    await_ready_count(api, NAMESPACE, pods, 300)
    (folder / "recover").mkdir()
    result["recover"] = measure_recover(api, with_cm, pause, folder / "recover", faults)
    await_ready_count(api, NAMESPACE, pods, 300)
    api.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the bed's logs and the runs here")
    args = parser.parse_args()
    sizes = []
    if args.keep:
        args.keep.mkdir(parents=True)
    where = nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory()
    with (
        where as tmp,
        TestBed(Path(tmp) / "bed", chaos_mesh=True) as bed,
        prometheus(Path(tmp) / "prometheus") as prom_url,
    ):
        for pods in args.pods:
            sizes.append(one_size(bed, prom_url, pods, args.repeat, Path(tmp)))
    for size in sizes:
        kill, rec = size["kill"], size["recover"]
        print(f"{size['pods']} pods: plan {size['plan']['median_seconds']['total']} s "
              f"(serving {size['plan']['median_seconds']['serving']}); kill of "
              f"{kill['kills']}: injected in {kill['inject_first_to_last']} s, killed → ready "
              f"{kill['killed_to_ready']}, run {kill['wall']} s (exit {kill['exit']}); "
              f"recover of {rec['objects_before']} objects {rec['seconds']} s, "
              f"left {rec['objects_after']}")  # fmt: skip
    print("saved", save("k8s_scale", {"sizes": sizes}))


if __name__ == "__main__":
    main()
