"""Real experiments on the test bed: a real Prometheus (preflight needs one; it scrapes
nothing), a topology file of `runtime: kubernetes` whose services are Deployments of kwok
pods, and experiments whose steady state is a Kubernetes probe (no scrape needed)."""

from __future__ import annotations

import socket
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.runtime.local.binaries import find_binaries
from tests.k8s.testbed import TestBed
from tests.waiting import wait_for

HOST = "127.0.0.1"


@contextmanager
def prometheus(root: Path) -> Iterator[str]:
    """A real Prometheus on a free loopback port with its own data dir; its base URL."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    argv = [
        str(find_binaries().prometheus),
        f"--config.file={config}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address={HOST}:{port}",
    ]
    url = f"http://{HOST}:{port}"
    with (root / "prometheus.log").open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _ready(proc, url), 30, f"Prometheus at {url} ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _ready(proc: subprocess.Popen[bytes], url: str) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"Prometheus exited ({proc.returncode}) before it was ready")
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def cluster_stack(
    path: Path,
    bed: TestBed,
    prometheus_url: str,
    namespaces: tuple[str, ...],
    services: dict[str, str],
    *,
    kubeconfig: Path | None = None,
    chaos_mesh: str = "{inject_timeout: 3s, delete_timeout: 3s}",
) -> Path:
    """A topology file: `runtime: kubernetes` on the bed; each service (name -> namespace)
    the pods labelled app=<name> there; Chaos Mesh configured when the bed runs it."""
    lines = [
        "version: harness/v1",
        "runtime: kubernetes",
        "kubernetes:",
        f"  kubeconfig: {kubeconfig or bed.kubeconfig}",
        f"  namespaces: [{', '.join(namespaces)}]",
        "  request_timeout: 5s",
    ]
    if bed.chaos_mesh:
        lines.append(f"  chaos_mesh: {chaos_mesh}")
    lines += [f'prometheus: {{url: "{prometheus_url}"}}', "services:"]
    for name, namespace in services.items():
        lines.append(
            f"  {name}: {{selector: {{namespaces: [{namespace}], labelSelectors: {{app: {name}}}}}}}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def ready_probe(name: str, namespace: str, deployment: str, op: str, threshold: int) -> str:
    """A steady-state probe (YAML list item) on a Deployment's ready replicas."""
    workload = f"{{kind: Deployment, namespace: {namespace}, name: {deployment}}}"
    return (
        f"- {{name: {name}, kubernetes: {{workload: {workload}, metric: ready_replicas}}, "
        f'op: "{op}", threshold: {threshold}}}'
    )


def experiment(
    path: Path,
    name: str,
    targets: str,
    faults: str,
    steady: str,
    *,
    blast: str = "max_duration: 30s",
    extra: str = "",
) -> Path:
    """An experiment file with no load: a steady state of Kubernetes probes, short waits."""
    indent = lambda text: textwrap.indent(textwrap.dedent(text).strip(), "  ")  # noqa: E731
    text = f"""\
version: harness/v1
name: {name}
hypothesis: the pods come back
settle: 0s
steady_wait: 10s
targets:
{indent(targets)}
faults:
{indent(faults)}
steady_state:
{indent(steady)}
expectations:
  recovery_within: 20s
blast_radius:
{indent(blast)}
{extra}
"""
    path.write_text(text)
    return path
