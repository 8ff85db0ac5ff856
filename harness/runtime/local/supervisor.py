"""The supervisor: a detached process that starts every component and keeps it running.

`harness up` spawns it and returns once the state file says "ready". It restarts a
component that exits (with exponential backoff, like a container restart policy),
counts restarts in the state file and as a metric, re-creates Toxiproxy's proxies
when Toxiproxy itself restarts, and on SIGTERM stops exactly what it started, in
reverse order.

Run as: python -m harness.runtime.local.supervisor --stack stack.yaml --run-dir .run
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from harness.errors import HarnessError, StackError
from harness.runtime.local import jaegerconfig, postgres, promconfig, redis
from harness.runtime.local.binaries import find_binaries, with_redis
from harness.runtime.local.components import (
    Component,
    build_components,
    child_env,
    redis_dir,
)
from harness.runtime.local.layout import RunDir
from harness.runtime.local.procs import ProcessRef
from harness.runtime.local.proxies import populate_proxies
from harness.runtime.local.readiness import http_ok, tcp_open
from harness.runtime.local.state import ComponentState, StackState, write_state
from harness.specs.topology import Topology, load_topology

START_TIMEOUT = 90.0
BACKOFF_BASE, BACKOFF_CAP, STABLE_AFTER = 0.5, 8.0, 30.0


class _Child:
    """A running (or waiting) component: its Popen, its log and its restart bookkeeping."""

    def __init__(self, comp: Component, state: ComponentState) -> None:
        self.comp, self.state = comp, state
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.restart_at: float | None = None
        self.streak = 0  # consecutive quick exits, for backoff
        self.started = 0.0  # monotonic time of the last spawn


class Supervisor:
    def __init__(self, stack_file: Path, topo: Topology, run: RunDir) -> None:
        self.topo, self.run = topo, run
        root = stack_file.resolve().parent
        self.bins = find_binaries(root, jaeger=topo.jaeger.enabled)
        if topo.uses_redis:
            self.bins = with_redis(self.bins)
        self.comps = build_components(topo, run, self.bins)
        me = ProcessRef.of(os.getpid())
        self.state = StackState(
            stack_file=str(stack_file.resolve()),
            run_dir=str(run.root.resolve()),
            supervisor_pid=me.pid,
            supervisor_start_time=me.start_time,
            urls=_urls(topo),
            components=[
                ComponentState(
                    name=c.name,
                    kind=c.kind,
                    service=c.service,
                    port=c.port,
                    log=str(run.log(c.name)),
                )
                for c in self.comps
            ],
        )
        self.children = {c.name: _Child(c, self.state.component(c.name)) for c in self.comps}
        self.stop_event = threading.Event()
        self._metrics()

    # -- lifecycle -----------------------------------------------------------------

    def serve(self) -> int:
        self._save()
        try:
            self._prepare()
            for tier in sorted({c.tier for c in self.comps}):
                self._start_tier([c for c in self.children.values() if c.comp.tier == tier])
                if tier == 0:
                    if self.topo.uses_postgres:
                        postgres.apply_schema(self.topo)
                    populate_proxies(self.topo)
            self.state.phase = "ready"
            self._save()
            self._watch()
            return 0
        except Exception as exc:  # every failure must reach `harness up` as one line
            if not isinstance(exc, HarnessError):
                traceback.print_exc()
                exc = StackError(f"{type(exc).__name__}: {exc} (see {self.run.log('supervisor')})")
            self.state.phase, self.state.error = "failed", str(exc)
            self._save()
            return 1
        finally:
            self._stop_all()

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()

    def _prepare(self) -> None:
        self.run.ensure()
        slo_dir = self.run.config / promconfig.SLO_RULES
        shutil.rmtree(slo_dir, ignore_errors=True)  # an SLO dropped from the topology goes too
        slo_dir.mkdir()
        for name, text in promconfig.slo_rules(self.topo).items():
            (slo_dir / name).write_text(text)
        (self.run.config / "prometheus.yml").write_text(
            promconfig.render(promconfig.prometheus_config(self.topo, slo_rules_dir=str(slo_dir)))
        )
        (self.run.config / "alertmanager.yml").write_text(
            promconfig.render(promconfig.alertmanager_config(self.topo))
        )
        self.run.forget_notifications()
        if self.topo.jaeger.enabled:
            config = jaegerconfig.jaeger_config(self.topo)
            self.run.jaeger_config.write_text(jaegerconfig.render(config))
        if self.topo.uses_redis:
            redis_dir(self.run).mkdir(parents=True, exist_ok=True)
        if "postgres" not in self.children:
            return
        pg = self.children["postgres"].comp
        postgres.init_cluster(
            self.bins.initdb,
            self.run.postgres_data,
            pg.user,
            self.topo.postgres.user,
            self.run.log("postgres"),
        )

    def _start_tier(self, tier: list[_Child]) -> None:
        for child in tier:
            self._spawn(child)
        deadline = time.monotonic() + START_TIMEOUT
        waiting = list(tier)
        while waiting:
            if self.stop_event.is_set():
                raise StackError("stopped while starting")
            for child in list(waiting):
                code = child.proc.poll() if child.proc else None
                if code is not None:
                    raise StackError(
                        f"{child.comp.name} exited with code {code} while starting: "
                        f"see {child.state.log}"
                    )
                if self._ready(child.comp):
                    child.state.status = "running"
                    waiting.remove(child)
            if time.monotonic() > deadline:
                names = ", ".join(c.comp.name for c in waiting)
                raise StackError(
                    f"{names} not ready after {START_TIMEOUT:.0f}s: see {self.run.logs}"
                )
            self._save()
            self.stop_event.wait(0.1)

    def _watch(self) -> None:
        while not self.stop_event.wait(0.1):
            now = time.monotonic()
            changed = False
            for child in self.children.values():
                changed |= self._reap(child, now) or self._maybe_restart(child, now)
            if changed:
                self._save()

    def _reap(self, child: _Child, now: float) -> bool:
        if child.proc is None or child.restart_at is not None:
            return False
        code = child.proc.poll()
        if code is None:
            return False
        ran = now - child.started
        child.streak = 0 if ran > STABLE_AFTER else child.streak + 1
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, child.streak - 1))
        child.restart_at = now + delay
        child.state.status, child.state.last_exit = "backoff", code
        self.m_up.labels(child.comp.name).set(0)
        _log(f"{child.comp.name} exited with {code}; restarting in {delay:.1f}s")
        return True

    def _maybe_restart(self, child: _Child, now: float) -> bool:
        if child.restart_at is None or now < child.restart_at:
            return False
        child.restart_at = None
        child.state.restarts += 1
        self.m_restarts.labels(child.comp.name).inc()
        self._spawn(child)
        if child.comp.kind == "toxiproxy":
            self._await_ready(child.comp, 10.0)
            populate_proxies(self.topo)
        child.state.status = "running"
        return True

    # -- processes -----------------------------------------------------------------

    def _spawn(self, child: _Child) -> None:
        comp = child.comp
        if child.log is None:
            child.log = open(self.run.log(comp.name), "ab", buffering=0)  # noqa: SIM115
        child.proc = subprocess.Popen(
            list(comp.argv),
            env=child_env(comp),
            user=comp.user,
            stdin=subprocess.DEVNULL,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            cwd=comp.cwd or self.run.root,
        )
        ref = ProcessRef.of(child.proc.pid)
        child.state.pid, child.state.start_time = ref.pid, ref.start_time
        child.state.status, child.state.started_at = "starting", time.time()
        child.started = time.monotonic()
        self.m_up.labels(comp.name).set(1)

    def _stop_all(self) -> None:
        self.state.phase = "stopping"
        self._save()
        for tier in sorted({c.tier for c in self.comps}, reverse=True):
            members = [c for c in self.children.values() if c.comp.tier == tier]
            _stop_processes(members)
            for child in members:
                child.state.status = "stopped"
                self.m_up.labels(child.comp.name).set(0)
        self.state.phase = "stopped"
        self._save()

    def _ready(self, comp: Component) -> bool:
        if comp.kind == "postgres":
            return postgres.ping(self.topo)
        if comp.kind == "redis":
            return redis.ping(self.topo.host, comp.port)
        if comp.ready_url is None:
            return tcp_open(self.topo.host, comp.port)
        return http_ok(comp.ready_url)

    def _await_ready(self, comp: Component, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready(comp):
                return True
            time.sleep(0.1)
        return False

    # -- bookkeeping ---------------------------------------------------------------

    def _metrics(self) -> None:
        reg = CollectorRegistry()
        self.m_restarts = Counter(
            "harness_component_restarts", "Restarts by the supervisor", ["component"], registry=reg
        )
        self.m_up = Gauge(
            "harness_component_running",
            "1 while the component's process runs",
            ["component"],
            registry=reg,
        )
        for comp in self.comps:
            self.m_restarts.labels(comp.name)
            self.m_up.labels(comp.name).set(0)
        start_http_server(self.topo.supervisor.metrics_port, addr=self.topo.host, registry=reg)

    def _save(self) -> None:
        write_state(self.run.state_file, self.state)


def _stop_processes(children: Iterable[_Child]) -> None:
    """Signal every member first, then wait for all, so a tier stops in parallel."""
    live = [c for c in children if c.proc is not None and c.proc.poll() is None]
    for child in live:
        assert child.proc is not None
        child.proc.send_signal(signal.SIGCONT)  # a paused process cannot exit
        child.proc.send_signal(child.comp.stop_signal)
    for child in live:
        assert child.proc is not None
        try:
            child.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait(timeout=5)


def _urls(topo: Topology) -> dict[str, str]:
    """What `harness up` prints: every public entry (point callers here), then the stack."""
    h = topo.host
    entries = {
        f"{lk.target} (entry)": f"http://{h}:{lk.listen_port}"
        for lk in topo.links
        if lk.kind == "edge"
    }
    urls = {
        **entries,
        "prometheus": f"http://{h}:{topo.prometheus.port}",
        "alertmanager": f"http://{h}:{topo.alertmanager.port}",
        "alert_receiver": f"http://{h}:{topo.alertmanager.receiver_port}",
        "toxiproxy": f"http://{h}:{topo.toxiproxy.port}",
        **({"jaeger": jaegerconfig.query_url(topo)} if topo.jaeger.enabled else {}),
        "supervisor_metrics": f"http://{h}:{topo.supervisor.metrics_port}/metrics",
    }
    if topo.uses_postgres:
        pg = topo.postgres
        urls["postgres"] = f"postgresql://{pg.user}@{h}:{pg.port}/{pg.database}"
    if topo.uses_redis:
        urls["redis"] = f"redis://{h}:{topo.redis.port}"
    return urls


def _failed_early(stack_file: Path, run: RunDir, exc: HarnessError) -> None:
    me = ProcessRef.of(os.getpid())
    state = StackState(
        stack_file=str(stack_file.resolve()),
        run_dir=str(run.root.resolve()),
        supervisor_pid=me.pid,
        supervisor_start_time=me.start_time,
        phase="failed",
        error=str(exc),
    )
    run.root.mkdir(parents=True, exist_ok=True)
    write_state(run.state_file, state)


def _log(msg: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} supervisor: {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    try:
        sup = Supervisor(args.stack, load_topology(args.stack), run)
    except HarnessError as exc:  # a binary missing: `harness up` says so in one line
        _failed_early(args.stack, run, exc)
        return 1
    signal.signal(signal.SIGTERM, sup.request_stop)
    signal.signal(signal.SIGINT, sup.request_stop)
    return sup.serve()


if __name__ == "__main__":
    sys.exit(main())
