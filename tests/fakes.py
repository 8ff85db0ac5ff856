"""Fakes for the safety and engine unit tests: no stack, no network but loopback.

- `FakeToxiproxy`: Toxiproxy's API in memory, served through `httpx.MockTransport`
  (or, for a process that needs a URL, a loopback HTTP server), with switches that
  make it answer 5xx or refuse connections for the next N calls or until healed.
- `Children`: real child processes the test starts and always ends, so signals and
  PID + start-time checks act on processes the test owns.
- `make_stack`: a stack run directory (topology file + state file) whose components
  are such children, and `fault_env` to act on it through a fake Toxiproxy.
- `fake_prometheus`, `RecordingDisplay`: the rest of what a RunContext needs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from harness.clients.prometheus import PrometheusClient
from harness.clients.toxiproxy import ToxiproxyClient
from harness.faults import FaultEnv
from harness.probes.promql import ProbeResult
from harness.procs import ProcessRef
from harness.rundir import RunDir
from harness.runtime.local.runtime import LocalRuntime
from harness.runtime.local.state import ComponentState, StackState, read_state, write_state
from harness.specs.topology import Topology, load_topology
from tests.waiting import wait_for

__all__ = [
    "Children",
    "FakeStack",
    "FakeToxiproxy",
    "RecordingDisplay",
    "fake_prometheus",
    "fault_env",
    "make_stack",
]

# -- Toxiproxy ----------------------------------------------------------------------


@dataclass
class _Failure:
    remaining: int | None  # None: until healed
    status: int | None  # None: the connection is refused (httpx.ConnectError)
    methods: frozenset[str] | None  # None: every method

    def matches(self, method: str) -> bool:
        return self.methods is None or method in self.methods


_TOXICS = re.compile(r"^/proxies/([^/]+)/toxics(?:/([^/]+))?$")
_PROXY = re.compile(r"^/proxies/([^/]+)$")


class FakeToxiproxy:
    """Toxiproxy's proxies and toxics in memory; `calls` lists every request it saw."""

    def __init__(self, proxies: list[str] | tuple[str, ...] = ()) -> None:
        self.proxies: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self._failure: _Failure | None = None
        self._lock = threading.Lock()
        for name in proxies:
            self.add_proxy(name)

    @classmethod
    def for_topology(cls, topo: Topology) -> FakeToxiproxy:
        return cls([link.name for link in topo.links])

    def add_proxy(self, name: str) -> None:
        self.proxies[name] = {
            "name": name,
            "listen": "127.0.0.1:0",
            "upstream": "127.0.0.1:0",
            "enabled": True,
            "toxics": [],
        }

    # -- switches ------------------------------------------------------------------

    def fail(
        self, times: int | None = None, status: int = 503, methods: set[str] | None = None
    ) -> None:
        """Answer `status` to the next `times` calls (of `methods`), or until `heal()`."""
        self._failure = _Failure(times, status, frozenset(methods) if methods else None)

    def refuse(self, times: int | None = None, methods: set[str] | None = None) -> None:
        """Refuse connections (httpx.ConnectError) for the next `times` calls, or until healed."""
        self._failure = _Failure(times, None, frozenset(methods) if methods else None)

    def heal(self) -> None:
        self._failure = None

    # -- what a test inspects --------------------------------------------------------

    def toxic_names(self, proxy: str) -> list[str]:
        return [t["name"] for t in self.proxies[proxy]["toxics"]]

    def all_toxics(self) -> list[str]:
        return [f"{p}/{t['name']}" for p, body in self.proxies.items() for t in body["toxics"]]

    def disabled(self) -> list[str]:
        return [p for p, body in self.proxies.items() if not body["enabled"]]

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for m, p in self.calls if m == method and p.startswith(path_prefix))

    # -- clients -------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self, base_url: str = "http://toxiproxy.test") -> ToxiproxyClient:
        http = httpx.Client(base_url=base_url, transport=self.transport(), timeout=1.0)
        return ToxiproxyClient(base_url, client=http)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve this fake on a loopback port (for a subprocess); yields its base URL."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-toxiproxy", daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    # -- the API -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls.append((request.method, request.url.path))
            failure = self._take_failure(request.method)
            if failure is not None and failure.status is None:
                raise httpx.ConnectError("connection refused (fake)", request=request)
            if failure is not None:
                return _error(failure.status or 503, "fake failure")
            return self._route(request.method, request.url.path, request.content)

    def _take_failure(self, method: str) -> _Failure | None:
        failure = self._failure
        if failure is None or not failure.matches(method):
            return None
        if failure.remaining is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failure = None
        return failure

    def _route(self, method: str, path: str, body: bytes) -> httpx.Response:
        if (method, path) == ("GET", "/version"):
            return httpx.Response(200, text="2.9.0-fake")
        if (method, path) == ("GET", "/proxies"):
            return httpx.Response(200, json=self.proxies)
        if (method, path) == ("POST", "/reset"):
            for proxy in self.proxies.values():
                proxy["enabled"], proxy["toxics"] = True, []
            return httpx.Response(204)
        if m := _PROXY.match(path):
            return self._proxy(method, m.group(1), body)
        if m := _TOXICS.match(path):
            return self._toxics(method, m.group(1), m.group(2), body)
        return _error(404, "not found")

    def _proxy(self, method: str, name: str, body: bytes) -> httpx.Response:
        proxy = self.proxies.get(name)
        if proxy is None:
            return _error(404, "proxy not found")
        if method == "PATCH":
            proxy["enabled"] = json.loads(body).get("enabled", proxy["enabled"])
        elif method != "GET":
            return _error(405, "method not allowed")
        return httpx.Response(200, json=proxy)

    def _toxics(self, method: str, name: str, toxic: str | None, body: bytes) -> httpx.Response:
        proxy = self.proxies.get(name)
        if proxy is None:
            return _error(404, "proxy not found")
        toxics: list[dict[str, Any]] = proxy["toxics"]
        if toxic is None and method == "GET":
            return httpx.Response(200, json=toxics)
        if toxic is None and method == "POST":
            new = json.loads(body)
            if any(t["name"] == new["name"] for t in toxics):
                return _error(409, "toxic already exists")
            toxics.append(new)
            return httpx.Response(200, json=new)
        if toxic is not None and method == "DELETE":
            if not any(t["name"] == toxic for t in toxics):
                return _error(404, "toxic not found")
            proxy["toxics"] = [t for t in toxics if t["name"] != toxic]
            return httpx.Response(204)
        return _error(405, "method not allowed")


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message, "status": status})


def _handler_for(fake: FakeToxiproxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = httpx.Request(self.command, f"http://fake{self.path}", content=body)
            try:
                resp = fake.handle(request)
            except httpx.ConnectError:
                self.close_connection = True  # hang up without an answer
                return
            self.send_response(resp.status_code)
            self.send_header("Content-Type", resp.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(resp.content)))
            self.end_headers()
            self.wfile.write(resp.content)

        do_GET = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# -- processes ------------------------------------------------------------------------


class Children:
    """Child processes the test started (default `sleep 60`); `close` ends every one."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: tuple[str, ...] = ("sleep", "60"), log: Path | None = None) -> ProcessRef:
        """Start `argv`; its output goes to `log` (or nowhere)."""
        with open(log or os.devnull, "ab") as out:
            proc = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return ProcessRef.of(proc.pid)

    def popen(self, ref: ProcessRef) -> subprocess.Popen[bytes]:
        return next(p for p in self.procs if p.pid == ref.pid)

    def kill_and_reap(self, ref: ProcessRef) -> None:
        proc = self.popen(ref)
        proc.kill()
        proc.wait(timeout=5)

    def hold_lock(self, stack_run_dir: Path, role: str = "harness run") -> ProcessRef:
        """A child process that takes the stack's RunLock and keeps it until it dies."""
        ref = self.start((sys.executable, "-c", _HOLD_LOCK, str(stack_run_dir), role))
        lock_file = stack_run_dir / "experiment.lock"
        wait_for(
            lambda: lock_file.exists() and lock_file.read_text() == f"{ref.pid} {role}",
            timeout=10,
            what=f"pid {ref.pid} to take the lock",
            interval=0.01,
        )
        return ref

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait(timeout=5)


_HOLD_LOCK = """
import sys, time
from pathlib import Path
from harness.safety.lock import RunLock
lock = RunLock(Path(sys.argv[1]), role=sys.argv[2])
lock.acquire()
time.sleep(60)
"""


# -- a stack ------------------------------------------------------------------------

STACK_YAML = """\
version: harness/v1
host: 127.0.0.1
toxiproxy:
  port: {toxiproxy_port}
postgres:
  port: 25432
  proxy_port_base: 25440
prometheus:
  port: 29090
alertmanager:
  port: 29093
supervisor:
  metrics_port: 29100
services:
  gateway:
    replicas: 1
    port_base: {gateway_base}
    edge_port_base: 28080
    depends_on: [catalog, orders]
    command: {{argv: [sleep, "60"]}}
  catalog:
    replicas: 2
    port_base: {catalog_base}
    proxy_port_base: 28250
    command: {{argv: [sleep, "60"]}}
  orders:
    replicas: 1
    port_base: {orders_base}
    proxy_port_base: 28350
    depends_on: [postgres]
    command: {{argv: [sleep, "60"]}}
"""

APPS = ("gateway-1", "catalog-1", "catalog-2", "orders-1")
BASES = {"gateway": 28100, "catalog": 28200, "orders": 28300}  # replica N listens on base + N

# a replica that serves: it accepts on its port (the fake stack gives no ready_path), and
# says so once it listens: 'up' on stdout, and a file (argv[2]) when given one; a port
# taken meanwhile ends it
LISTEN = (
    "import pathlib, socket, sys, time\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('up', flush=True)\n"
    "len(sys.argv) > 2 and pathlib.Path(sys.argv[2]).touch()\n"
    "time.sleep(60)\n"
)


@dataclass
class FakeStack:
    """A stack run directory as the supervisor leaves it, with children for replicas."""

    run: RunDir
    stack_file: Path
    topo: Topology
    replicas: dict[str, ProcessRef] = field(default_factory=dict)

    def state(self) -> StackState:
        state = read_state(self.run.state_file)
        assert state is not None
        return state


def make_stack(
    root: Path,
    children: Children,
    toxiproxy_port: int = 28474,
    supervisor: ProcessRef | None = None,
    apps: tuple[str, ...] = APPS,
    serving: bool = False,
) -> FakeStack:
    """Write a topology and a "ready" state whose supervisor is (by default) this process
    and whose app replicas are children of it; `serving`: each replica accepts on a free
    port (ready, as preflight counts it), else it only sleeps (live, never ready)."""
    root.mkdir(parents=True, exist_ok=True)
    run = RunDir(root / ".run")
    run.ensure()
    for _attempt in range(5):  # a free port can be taken before a replica binds it: again
        stack = _write_stack(root, run, toxiproxy_port, _free_bases() if serving else BASES)
        ports = {r.name: r.port for r in stack.topo.replicas}
        for name in apps:
            marker = root / f"listening-{ports[name]}"
            marker.unlink(missing_ok=True)
            argv = (
                (sys.executable, "-S", "-c", LISTEN, str(ports[name]), str(marker))
                if serving
                else ("sleep", "60")
            )
            stack.replicas[name] = children.start(argv)
        if not serving or _all_listen(root, children, stack, ports):
            break
    else:
        raise AssertionError(f"the fake stack's replicas could not listen in {root}")
    components = [
        ComponentState(
            name=name,
            kind="app",
            service=name.rsplit("-", 1)[0],
            port=ports[name],
            pid=ref.pid,
            start_time=ref.start_time,
            status="running",
            started_at=time.time(),
            log=str(run.log(name)),
        )
        for name, ref in stack.replicas.items()
    ]
    sup = supervisor or ProcessRef.of(os.getpid())
    state = StackState(
        stack_file=str(stack.stack_file),
        run_dir=str(run.root),
        supervisor_pid=sup.pid,
        supervisor_start_time=sup.start_time,
        phase="ready",
        components=components,
    )
    write_state(run.state_file, state)
    return stack


def _write_stack(root: Path, run: RunDir, toxiproxy_port: int, bases: dict[str, int]) -> FakeStack:
    stack_file = root / "stack.yaml"
    text = STACK_YAML.format(
        toxiproxy_port=toxiproxy_port, **{f"{s}_base": b for s, b in bases.items()}
    )
    stack_file.write_text(text, encoding="utf-8")
    return FakeStack(run, stack_file, load_topology(stack_file))


def _all_listen(root: Path, children: Children, stack: FakeStack, ports: dict[str, int]) -> bool:
    """Every replica listens (its marker file exists); False, with this attempt's replicas
    ended, when one exited first (its port was taken after it was found free). No probe
    connects: a connect to a free port of the ephemeral range can connect to itself."""

    def settled() -> bool | None:
        if all((root / f"listening-{ports[n]}").exists() for n in stack.replicas):
            return True
        if any(children.popen(ref).poll() is not None for ref in stack.replicas.values()):
            return False
        return None

    done = wait_for(
        lambda: settled() is not None,
        timeout=30,
        what=f"the fake stack's replicas to listen on {sorted(ports.values())}",
        interval=0.02,
    )
    if done and settled():
        return True
    for ref in stack.replicas.values():
        children.kill_and_reap(ref)
    stack.replicas.clear()
    return False


def _free_bases() -> dict[str, int]:
    """A port base per service whose replicas' ports (base + 1, base + 2) are free now."""
    bases: dict[str, int] = {}
    while len(bases) < len(BASES):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        taken = {b + i for b in bases.values() for i in (1, 2)}
        if all(_free(base + i) and base + i not in taken for i in (1, 2)):
            bases[list(BASES)[len(bases)]] = base
    return bases


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def fault_env(
    toxiproxy: ToxiproxyClient, stack: FakeStack, restart_timeout: float = 1.0
) -> FaultEnv:
    runtime = LocalRuntime(stack.topo, stack.run.root)
    return FaultEnv(toxiproxy=toxiproxy, runtime=runtime, restart_timeout=restart_timeout)


# -- Prometheus and the display -------------------------------------------------------


def fake_prometheus(
    value: Callable[[], float] = lambda: 1.0, ready: Callable[[], bool] = lambda: True
) -> PrometheusClient:
    """Ready while `ready()`, answering every instant query with one series of `value()`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/-/ready":
            if not ready():
                return httpx.Response(503, text="Service Unavailable")
            return httpx.Response(200, text="Prometheus Server is Ready.")
        if request.url.path == "/api/v1/query":
            result = [{"metric": {}, "value": [time.time(), str(value())]}]
            return httpx.Response(
                200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
            )
        return httpx.Response(404, json={"status": "error", "error": "not found"})

    http = httpx.Client(
        base_url="http://prometheus.test", transport=httpx.MockTransport(handle), timeout=1.0
    )
    return PrometheusClient("http://prometheus.test", client=http)


class RecordingDisplay:
    """A Display that keeps what it was told."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.ticks: list[tuple[str, float | None, list[ProbeResult]]] = []

    def phase(self, name: str, detail: str = "") -> None:
        self.phases.append(name)

    def tick(self, phase: str, remaining: float | None, results: list[ProbeResult]) -> None:
        self.ticks.append((phase, remaining, results))


def example_without_no_alerts() -> str:
    """The shipped latency experiment without its `no_alerts` block, for tests that
    write their own expectations into it."""
    quiet = "  no_alerts:\n    - {alert: ShopHighLatencyP99, when: run}\n"
    root = Path(__file__).resolve().parents[1]
    text = (root / "experiments" / "orders-latency-one-replica.yaml").read_text()
    assert quiet in text
    return text.replace(quiet, "")
