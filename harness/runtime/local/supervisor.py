"""The supervisor: a detached process that starts every component and keeps it running.

`harness up` spawns it and returns once the state file says "ready". It starts the
components tier by tier, a service's init before its replicas and, with `start:
sequential`, each replica once the one before is ready; the first that fails fails
the start, its exit and the tail of its own log kept in the state file. Then it
restarts a component that exits, or a replica whose liveness fails (with exponential
backoff, like a container restart policy), counts restarts and their reasons in the
state file and as a metric, re-creates Toxiproxy's proxies when Toxiproxy itself
restarts, and on SIGTERM stops exactly what it started, in reverse order.

Run as: python -m harness.runtime.local.supervisor --stack stack.yaml --run-dir .run
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from harness.errors import HarnessError, StackError
from harness.procs import ProcessRef
from harness.rundir import RunDir
from harness.runtime import promconfig
from harness.runtime.endpoints import endpoints_of
from harness.runtime.local import jaegerconfig, postgres, redis
from harness.runtime.local.binaries import Binaries, find_binaries, with_redis
from harness.runtime.local.children import Child, stop_processes
from harness.runtime.local.components import (
    START_TIMEOUT,
    Component,
    build_components,
    redis_dir,
)
from harness.runtime.local.liveness import probe, probe_client
from harness.runtime.local.proxies import populate_proxies
from harness.runtime.local.state import ComponentState, StackState, write_state
from harness.runtime.readiness import http_ok, tcp_open
from harness.specs.topology import Topology, load_topology

BACKOFF_BASE, BACKOFF_CAP, STABLE_AFTER = 0.5, 8.0, 30.0


class Supervisor:
    def __init__(
        self, stack_file: Path, topo: Topology, run: RunDir, bins: Binaries, comps: list[Component]
    ) -> None:
        self.topo, self.run, self.bins, self.comps = topo, run, bins, comps
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
        self.children = {
            c.name: Child(c, self.state.component(c.name), run.log(c.name)) for c in self.comps
        }
        self.stop_event = threading.Event()
        self.registry = self._metrics()

    @classmethod
    def for_stack(cls, stack_file: Path, topo: Topology, run: RunDir) -> Supervisor:
        """The supervisor of a topology's stack (raises when a binary it needs is missing)."""
        bins = find_binaries(stack_file.resolve().parent, jaeger=topo.jaeger.enabled)
        if topo.uses_redis:
            bins = with_redis(bins)
        return cls(stack_file, topo, run, bins, build_components(topo, run, bins))

    # -- lifecycle -----------------------------------------------------------------

    def serve(self) -> int:
        self._save()
        try:
            port, host = self.topo.supervisor.metrics_port, self.topo.host
            start_http_server(port, addr=host, registry=self.registry)
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
        except Exception as exc:  # every failure must reach `harness up`, saying what failed
            if not isinstance(exc, HarnessError):
                traceback.print_exc()
                exc = StackError(f"{type(exc).__name__}: {exc} (see {self.run.log('supervisor')})")
            self.state.phase, self.state.error = "failed", str(exc)
            self._save()
            _log(f"failed: {exc}")  # its own log stays the place for what a component said
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

    def _start_tier(self, tier: list[Child]) -> None:
        """Start a tier: each member once the one it waits for is ready (an init: done),
        until all are; the first that fails raises, having recorded why."""
        pending, waiting = list(tier), list[Child]()
        while pending or waiting:
            if self.stop_event.is_set():
                raise StackError("stopped while starting")
            for child in [c for c in pending if self._may_start(c)]:
                pending.remove(child)
                waiting.append(child)
                self._spawn(child)
            now = time.monotonic()
            for child in [c for c in waiting if self._settled(c, now)]:
                waiting.remove(child)
            self._save()
            self.stop_event.wait(0.1)

    def _may_start(self, child: Child) -> bool:
        after = child.comp.after
        return after is None or self.children[after].state.status in ("running", "done")

    def _settled(self, child: Child, now: float) -> bool:
        """True once a starting component is ready (an init: finished with 0); raises
        the component's failure when it exits or overruns."""
        assert child.proc is not None
        code, comp = child.proc.poll(), child.comp
        if comp.timeout is not None:  # a one-shot
            if code == 0:
                child.state.status, child.state.last_exit = "done", 0
                return True
            if code is not None:
                raise child.failure(f"exited with code {code}", code)
            if now - child.started > comp.timeout:
                stop_processes([child])
                raise child.failure(f"did not finish within {comp.timeout:g}s (stopped)", None)
            return False
        if code is not None:
            raise child.failure(f"exited with code {code} while starting", code)
        if self._ready(comp):
            child.state.status = "running"
            return True
        if now - child.started > START_TIMEOUT:
            raise child.failure(f"was not ready {START_TIMEOUT:.0f}s after it started", None)
        return False

    def _watch(self) -> None:
        """Keep every long-running component up: restart what exits, kill and restart a
        replica whose liveness fails (probes run off this loop: a frozen replica's
        timeout must not delay a restart)."""
        kept = [c for c in self.children.values() if c.comp.timeout is None]
        with ThreadPoolExecutor(4, "liveness") as pool, probe_client() as client:

            def submit(url: str) -> Future[str | None]:
                return pool.submit(probe, client, url)

            while not self.stop_event.wait(0.1):
                now = time.monotonic()
                changed = False
                for child in kept:
                    changed |= self._reap(child, now) or self._maybe_restart(child, now)
                    self._check_live(child, now, submit)
                if changed:
                    self._save()

    def _reap(self, child: Child, now: float) -> bool:
        if child.proc is None or child.restart_at is not None:
            return False
        code = child.proc.poll()
        if code is None:
            return False
        ran = now - child.started
        child.streak = 0 if ran > STABLE_AFTER else child.streak + 1
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, child.streak - 1))
        child.restart_at = now + delay
        reason = child.kill_reason or f"exited with code {code}"
        child.state.status, child.state.last_exit = "backoff", code
        child.state.last_restart = reason
        self.m_up.labels(child.comp.name).set(0)
        _log(f"{child.comp.name} {reason}; restarting in {delay:.1f}s")
        return True

    def _maybe_restart(self, child: Child, now: float) -> bool:
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

    def _check_live(
        self, child: Child, now: float, submit: Callable[[str], Future[str | None]]
    ) -> None:
        """Start a due probe, or judge one that ended; kill the replica when it is due."""
        check = child.live
        if check is None or child.restart_at is not None or child.state.status != "running":
            return
        if child.probe is None:
            if check.due(now):
                check.begin(now)
                child.probe = submit(check.spec.url)
            return
        if not child.probe.done():
            return
        verdict = check.record(child.probe.result())
        child.probe = None
        if verdict is not None and child.kill(verdict):
            _log(f"{child.comp.name} (pid {child.state.pid}) {verdict}: killed")

    # -- processes -----------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        child.spawn(self.run.root)
        self.m_up.labels(child.comp.name).set(1)

    def _stop_all(self) -> None:
        """Stop everything, last tier first; a failure stays in the state for `status`."""
        failed = self.state.phase == "failed"
        if not failed:
            self.state.phase = "stopping"
            self._save()
        for tier in sorted({c.tier for c in self.comps}, reverse=True):
            members = [c for c in self.children.values() if c.comp.tier == tier]
            stop_processes(members)
            for child in members:
                if child.state.status not in ("failed", "done"):
                    child.state.status = "stopped"
                self.m_up.labels(child.comp.name).set(0)
        self.state.phase = "failed" if failed else "stopped"
        self._save()

    def _ready(self, comp: Component) -> bool:
        assert comp.port is not None, f"{comp.name} is a one-shot: it is done, never ready"
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

    def _metrics(self) -> CollectorRegistry:
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
        return reg

    def _save(self) -> None:
        write_state(self.run.state_file, self.state)


def _urls(topo: Topology) -> dict[str, str]:
    """What `harness up` prints: every public entry (point callers here), then the stack."""
    h = topo.host
    entries = {
        f"{lk.target} (entry)": f"http://{h}:{lk.listen_port}"
        for lk in topo.links
        if lk.kind == "edge"
    }
    ends = endpoints_of(topo)
    urls = {
        **entries,
        "prometheus": ends.prometheus,
        **({"alertmanager": ends.alertmanager} if ends.alertmanager else {}),
        **({"alert_receiver": ends.alert_receiver} if ends.alert_receiver else {}),
        **({"toxiproxy": ends.toxiproxy} if ends.toxiproxy else {}),
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
        sup = Supervisor.for_stack(args.stack, load_topology(args.stack), run)
    except HarnessError as exc:  # a binary missing: `harness up` says so in one line
        _failed_early(args.stack, run, exc)
        return 1
    signal.signal(signal.SIGTERM, sup.request_stop)
    signal.signal(signal.SIGINT, sup.request_stop)
    return sup.serve()


if __name__ == "__main__":
    sys.exit(main())
