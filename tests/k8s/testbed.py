"""A real Kubernetes control plane on loopback for integration tests (../shared/kubernetes,
"Level A"): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok for fake nodes
and pods, and optionally the Chaos Mesh controller. Binaries come from `make k8s`
(scripts/install-k8s.sh) in .bin/k8s/. Every component listens on a free port of
processes.PORT_RANGE, runs in its own process group, logs under the bed's directory and is
stopped by PID in reverse start order."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.k8s.kubeapi import KubeApi, condition
from tests.k8s.pki import Credentials, make_credentials, write_kubeconfig
from tests.k8s.processes import Component, free_ports, spawn

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = REPO / ".bin" / "k8s"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
CHAOS_MESH = ("chaos-controller-manager", "chaos-mesh-crd.yaml")
CHAOS_MESH_NAMESPACE = "chaos-mesh"
# kwok manages only the nodes carrying this annotation (recipe, pitfall 3)
FAKE_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
START_TIMEOUT = 60.0


def missing_binaries(bin_dir: Path = BIN_DIR, chaos_mesh: bool = False) -> list[str]:
    """The files `make k8s` has not built yet (empty when the bed can start)."""
    wanted = CONTROL_PLANE + (CHAOS_MESH if chaos_mesh else ())
    return [name for name in wanted if not (bin_dir / name).exists()]


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int
    chaos_metrics: int
    chaos_webhook: int


class TestBed:
    """Start with `start()` (or `with TestBed(...) as bed`); `stop()` ends every component."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, root: Path, nodes: int = 3, chaos_mesh: bool = False, bin_dir: Path = BIN_DIR
    ) -> None:
        self.root, self.nodes, self.chaos_mesh, self.bin_dir = root, nodes, chaos_mesh, bin_dir
        self.logs = root / "logs"
        self.ports = Ports(*free_ports(8))
        self.server = f"https://127.0.0.1:{self.ports.apiserver}"
        self.components: list[Component] = []
        self.timings: dict[str, float] = {}
        self.creds: Credentials | None = None
        self.kubeconfig = root / "admin.kubeconfig"
        self.limited_kubeconfig = root / "limited.kubeconfig"

    def __enter__(self) -> TestBed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------------

    def api(self, limited: bool = False) -> KubeApi:
        """A client as the admin (system:masters) or as the user bound to no role."""
        creds = self._creds()
        token = creds.limited_token if limited else creds.admin_token
        return KubeApi(self.server, creds.ca_cert, token)

    def _creds(self) -> Credentials:
        if self.creds is None:
            raise RuntimeError("the test bed is not started")
        return self.creds

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        missing = missing_binaries(self.bin_dir, self.chaos_mesh)
        if missing:
            raise RuntimeError(f"not built: {', '.join(missing)} (run `make k8s`)")
        self.logs.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        try:
            self.creds = make_credentials(self.root / "pki")
            write_kubeconfig(self.kubeconfig, self.server, self.creds.ca_cert, "chaos-admin",
                             self.creds.admin_token)  # fmt: skip
            write_kubeconfig(self.limited_kubeconfig, self.server, self.creds.ca_cert,
                             Credentials.LIMITED_USER, self.creds.limited_token)  # fmt: skip
            self._timed("etcd", self._start_etcd)
            self._timed("kube-apiserver", self._start_apiserver)
            self._timed("kube-controller-manager", self._start_controller_manager)
            self._timed("kube-scheduler", self._start_scheduler)
            self._timed("nodes", self._start_kwok)
            if self.chaos_mesh:
                self._timed("chaos-mesh", self._start_chaos_mesh)
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - began

    def stop(self) -> None:
        """Stop every component by PID, last started first (kwok and Chaos Mesh first)."""
        for component in reversed(self.components):
            component.stop()
        self.components.clear()

    def _timed(self, what: str, step: Callable[[], None]) -> None:
        began = time.monotonic()
        step()
        self.timings[what] = time.monotonic() - began

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Component:
        component = spawn(name, [str(self.bin_dir / name), *argv], self.logs, env)
        self.components.append(component)
        return component

    def _await(self, component: Component, check: Callable[[], bool], what: str) -> None:
        """Poll `check` until true; fail early if the component died, with its log's end."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not component.alive():
                raise RuntimeError(f"{component.name} exited before {what}:\n{component.tail()}")
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"{component.name}: no {what} within {START_TIMEOUT:.0f} s:\n{component.tail()}"
        )

    # -- components ------------------------------------------------------------------------

    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports.etcd_client}"
        peer = f"http://127.0.0.1:{self.ports.etcd_peer}"
        etcd = self._spawn("etcd", [
            "--name=testbed", f"--data-dir={self.root / 'etcd'}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=testbed={peer}", "--log-level=warn",
        ])  # fmt: skip
        self._await(etcd, lambda: httpx.get(f"{client}/health", timeout=1).json().get("health")
                    == "true", "health")  # fmt: skip

    def _start_apiserver(self) -> None:
        creds = self._creds()
        apiserver = self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{self.ports.etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports.apiserver}",
            f"--tls-cert-file={creds.server_cert}", f"--tls-private-key-file={creds.server_key}",
            f"--client-ca-file={creds.ca_cert}",
            f"--service-account-key-file={creds.sa_pub}",
            f"--service-account-signing-key-file={creds.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--api-audiences=https://kubernetes.default.svc",
            f"--token-auth-file={creds.token_file}", "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16", "--profiling=false",
            # the `kubernetes` Service's endpoint may not be a loopback address: keep none
            "--endpoint-reconciler-type=none",
        ])  # fmt: skip
        api = self.api()
        try:
            self._await(apiserver, lambda: api.http.get("/readyz").status_code == 200, "readyz")
        finally:
            api.close()

    def _component_flags(self, port: int) -> list[str]:
        kubeconfig = str(self.kubeconfig)
        return [
            f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={port}", "--profiling=false",
            # no front proxy: do not look up its CA (else errors every few seconds)
            "--authentication-skip-lookup=true",
        ]  # fmt: skip

    def _await_healthz(self, component: Component, port: int) -> None:
        url = f"https://127.0.0.1:{port}/healthz"
        # its serving certificate is self-signed: only liveness is read from it
        self._await(component, lambda: httpx.get(url, verify=False, timeout=1).status_code
                    == 200, "healthz")  # fmt: skip

    def _start_controller_manager(self) -> None:
        creds = self._creds()
        port = self.ports.controller_manager
        kcm = self._spawn("kube-controller-manager", [
            *self._component_flags(port),
            f"--service-account-private-key-file={creds.sa_key}",
            f"--root-ca-file={creds.ca_cert}", "--use-service-account-credentials=false",
        ])  # fmt: skip
        self._await_healthz(kcm, port)

    def _start_scheduler(self) -> None:
        port = self.ports.scheduler
        self._await_healthz(self._spawn("kube-scheduler", self._component_flags(port)), port)

    def _start_kwok(self) -> None:
        key, value = FAKE_NODE_ANNOTATION
        kwok = self._spawn("kwok", [
            f"--kubeconfig={self.kubeconfig}", "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={key}={value}",
            "--cidr=127.1.0.0/16", "--node-ip=127.0.0.1",
            f"--server-address=127.0.0.1:{self.ports.kwok}", f"--node-port={self.ports.kwok}",
            # heartbeat by Lease: kwok's status patches come only every 50-90 s, past the
            # controller manager's grace period, which then marks every pod NotReady for good
            "--node-lease-duration-seconds=40",
        ])  # fmt: skip
        health = f"http://127.0.0.1:{self.ports.kwok}/healthz"
        self._await(kwok, lambda: httpx.get(health, timeout=1).status_code == 200, "healthz")
        api = self.api()
        try:
            for i in range(1, self.nodes + 1):
                api.apply_object(fake_node(f"kwok-node-{i}"))
            self._await(kwok, lambda: _ready_count(api) == self.nodes, f"{self.nodes} nodes Ready")
            # pods of a new namespace are refused until its default service account exists
            self._await(kwok, lambda: api.http.get(
                "/api/v1/namespaces/default/serviceaccounts/default").status_code == 200,
                "the default service account")  # fmt: skip
        finally:
            api.close()

    def _start_chaos_mesh(self) -> None:
        api = self.api()
        try:
            apiserver = self.components[1]
            names = set(api.apply_manifest(self.bin_dir / "chaos-mesh-crd.yaml"))
            self._await(apiserver, lambda: names <= _established(api),
                        f"{len(names)} CRDs Established")  # fmt: skip
            api.apply_object({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": CHAOS_MESH_NAMESPACE}})  # fmt: skip
        finally:
            api.close()
        certs = self.root / "chaos-mesh-certs"
        certs.mkdir(exist_ok=True)
        shutil.copy(self._creds().server_cert, certs / "tls.crt")  # SAN 127.0.0.1, our CA
        shutil.copy(self._creds().server_key, certs / "tls.key")
        controller = self._spawn("chaos-controller-manager", [], env={
            "KUBECONFIG": str(self.kubeconfig), "NAMESPACE": CHAOS_MESH_NAMESPACE,
            "ENABLE_LEADER_ELECTION": "false", "SECURITY_MODE": "false",
            "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(self.ports.chaos_webhook),
            "CERTS_DIR": str(certs), "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(self.ports.chaos_metrics),
        })  # fmt: skip
        metrics = f"http://127.0.0.1:{self.ports.chaos_metrics}/metrics"
        self._await(controller, lambda: httpx.get(metrics, timeout=1).status_code == 200,
                    "metrics")  # fmt: skip


def fake_node(name: str) -> dict:
    """A Node that kwok manages (it sets its status: Ready, capacity, address 127.0.0.1)."""
    key, value = FAKE_NODE_ANNOTATION
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {key: value},
            "labels": {"type": "kwok", "kubernetes.io/hostname": name},
        },
    }


def _ready_count(api: KubeApi) -> int:
    nodes = api.get("/api/v1/nodes", labelSelector="type=kwok")["items"]
    return sum(1 for node in nodes if condition(node, "Ready") == "True")


def _established(api: KubeApi) -> set[str]:
    crds = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]
    return {c["metadata"]["name"] for c in crds if condition(c, "Established") == "True"}
