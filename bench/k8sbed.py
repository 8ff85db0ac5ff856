"""What the Kubernetes benches share: the test bed (tests/k8s) with a Prometheus beside
it (preflight asks the topology's Prometheus), Deployments of kwok pods, a
`runtime: kubernetes` stack file for them, and `harness run` as a subprocess.

The Prometheus is Debian's binary on a free loopback port with an empty scrape
config: the benches' steady states are `vector(1)`, which needs no scrape."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.runtime.kubernetes.labels import LABEL_RUN
from tests.k8s.kubeapi import KubeApi, condition
from tests.k8s.processes import Component, free_ports, spawn
from tests.k8s.testbed import TestBed
from tests.k8s.workloads import deployment
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
HARNESS = [str(ROOT / ".venv" / "bin" / "harness")]
CHAOS_API = "/apis/chaos-mesh.org/v1alpha1"
CHAOS_PLURALS = ("podchaos", "networkchaos", "stresschaos")
PROMETHEUS = "/usr/bin/prometheus"


@contextmanager
def prometheus(folder: Path) -> Iterator[str]:
    """A Prometheus on a free port, stopped by its PID on the way out; its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    (port,) = free_ports(1)
    config = folder / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s, evaluation_interval: 1s}\n")
    url = f"http://127.0.0.1:{port}"
    prom: Component = spawn("prometheus", [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ], folder)  # fmt: skip
    try:
        wait_for(lambda: _ready(prom, url), 30, "Prometheus ready", interval=0.1)
        yield url
    finally:
        prom.stop()


def _ready(prom: Component, url: str) -> bool:
    if not prom.alive():
        raise RuntimeError(f"Prometheus exited:\n{prom.tail()}")
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def apply_deployments(api: KubeApi, namespace: str, names: list[str], replicas: int) -> None:
    """The namespace and one Deployment per name, all labelled tier=bench."""
    api.apply(f"/api/v1/namespaces/{namespace}",
              {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})  # fmt: skip
    for name in names:
        body = deployment(name, replicas)
        body["spec"]["template"]["metadata"]["labels"]["tier"] = "bench"
        api.apply(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", body)


def ready_count(api: KubeApi, namespace: str) -> int:
    """Pods of the namespace that are Running, Ready and not being deleted."""
    return len(ready_pods_all(api, namespace))


def ready_pods_all(api: KubeApi, namespace: str) -> list[dict]:
    """The namespace's bench pods that are Running, Ready and not being deleted."""
    pods = api.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector="tier=bench")["items"]
    return [
        p
        for p in pods
        if p["status"].get("phase") == "Running"
        and condition(p, "Ready") == "True"
        and "deletionTimestamp" not in p["metadata"]
    ]


def await_ready_count(api: KubeApi, namespace: str, count: int, timeout: float) -> float:
    """Seconds until exactly `count` pods of the namespace are ready."""
    began = time.monotonic()
    wait_for(lambda: ready_count(api, namespace) == count, timeout,
             f"{count} ready pods in {namespace}", interval=0.5)  # fmt: skip
    return time.monotonic() - began


def stack_file(
    folder: Path, bed: TestBed, prom_url: str, namespace: str, services: dict[str, str],
    chaos_mesh: bool = True, name: str = "stack.yaml",
) -> Path:  # fmt: skip
    """A `runtime: kubernetes` topology: one service per name, selecting app=<label>."""
    lines = [
        "version: harness/v1",
        "runtime: kubernetes",
        "kubernetes:",
        f"  kubeconfig: {bed.kubeconfig}",
        f"  namespaces: [{namespace}]",
        *(["  chaos_mesh: {}"] if chaos_mesh else []),
        f'prometheus: {{url: "{prom_url}"}}',
        "services:",
        *(
            f"  {name}: {{selector: {{namespaces: [{namespace}], labelSelectors: {{app: {app}}}}}}}"
            for name, app in services.items()
        ),
    ]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def launch(exp: Path, stack: Path, folder: Path, seed: int = 1) -> subprocess.Popen[bytes]:
    """`harness run` of one experiment, its output to folder/harness.log."""
    argv = [*HARNESS, "run", str(exp), "--stack", str(stack), "--seed", str(seed)]
    argv += ["--stack-dir", str(folder / "stack"), "--results-dir", str(folder / "runs")]
    with (folder / "harness.log").open("ab") as log:
        return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def run_objects(api: KubeApi, namespace: str, run_id: str | None = None) -> list[str]:
    """Chaos Mesh objects in the namespace carrying a run label (that run's, if given)."""
    selector = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    found = []
    for plural in CHAOS_PLURALS:
        items = api.get(f"{CHAOS_API}/namespaces/{namespace}/{plural}", labelSelector=selector)
        found += [f"{plural}/{o['metadata']['name']}" for o in items["items"]]
    return found


def ready_uids(api: KubeApi, namespace: str) -> set[str]:
    return {p["metadata"]["uid"] for p in ready_pods_all(api, namespace)}


__all__ = [
    "ROOT",
    "apply_deployments",
    "await_ready_count",
    "launch",
    "prometheus",
    "ready_count",
    "ready_pods_all",
    "ready_uids",
    "run_objects",
    "stack_file",
]
