"""The Kubernetes runtime: instances are pods, known by uid; the cluster's controllers
replace them, the harness never does.

Everything is asked of the API server afresh on each call (ready() may answer from a
listing under two seconds old), and what a kill must leave behind is written to the
run directory, so the watchdog and `recover`, rebuilt from the journal in another
process, see what the harness sees.
`kill` and `terminate` delete a pod (grace 0 / its own grace period) with a uid
precondition: a successor under the same name (a StatefulSet's) is never hit. SIGSTOP
and SIGCONT have no meaning here: pause goes through Chaos Mesh, and without it
preflight refuses it (`supported_faults`). With Chaos Mesh, in-cluster faults are its
objects (`fault_objects`, `own_actions`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightkube
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod

from harness.runtime.base import Endpoints, FaultObjects, Instance
from harness.runtime.kubernetes.api import calling, code_of, request
from harness.runtime.kubernetes.chaosmanifests import CHAOS_MESH_FAULTS, refusal
from harness.runtime.kubernetes.connect import connect
from harness.runtime.kubernetes.kills import Kill, KillBook, KillTiming, Sighting, successor
from harness.runtime.kubernetes.pods import controller_of, is_ready, live, pod_name, pods_of
from harness.specs.kubernetes import KubernetesSpec, PodSelector

if TYPE_CHECKING:
    from harness.faults.base import Action
    from harness.faults.settings import FaultSettings, Planned

__all__ = [
    "BASE_FAULTS",
    "KubernetesRuntime",
    "identity_of",
    "uid_of",
]

BASE_FAULTS = frozenset({"kill", "terminate"})  # a pod delete through the API
DEFAULT_GRACE = 30  # seconds: Kubernetes' own default terminationGracePeriodSeconds
RETRY_PAUSE = 0.2  # seconds between two questions to an API server that did not answer
# seconds a listing answers ready() for its pods, from when instances() ended: preflight
# lists every service, then asks ready() of each pod (50 services of 20 pods: 0.6-2.2 s)
FRESH = 2.0


def identity_of(pod: Pod) -> str:
    assert pod.metadata is not None
    return f"uid:{pod.metadata.uid}"


def uid_of(instance: Instance) -> str:
    kind, _, uid = instance.identity.partition(":")
    if kind != "uid" or not uid:
        raise ValueError(f"{instance.name}: {instance.identity!r} is not a pod uid")
    return uid


class KubernetesRuntime:
    kind = "kubernetes"

    def __init__(
        self,
        spec: KubernetesSpec,
        services: Mapping[str, PodSelector],
        endpoints: Endpoints,
        base_dir: Path,
        stack_file: Path | None = None,
        client: lightkube.Client | None = None,
        run_dir: Path | None = None,
    ) -> None:
        self.spec, self.services, self._endpoints = spec, dict(services), endpoints
        self.base_dir, self.stack_file, self.run_dir = base_dir, stack_file, run_dir
        self._client = client
        self._kills = KillBook(run_dir)  # in the run directory: another process reads them
        self._seen: dict[str, Sighting] = {}  # uid -> its owner and siblings, as last listed
        self._timings: dict[str, tuple[str, float, KillTiming]] = {}  # uid -> service, t0, …
        self._claimed: dict[str, str] = {}  # killed uid -> the uid of the pod replacing it
        self._listed: dict[str, tuple[float, dict[str, Pod]]] = {}  # service -> when, pods

    @property
    def client(self) -> lightkube.Client:
        """The API client, connected on first use (a dry run of a file needs none)."""
        if self._client is None:
            self._client = connect(self.spec, self.base_dir)
        return self._client

    def describe(self) -> dict[str, str]:
        """What the journal keeps to rebuild this runtime: files, never credentials."""
        stack = str(self.stack_file.resolve()) if self.stack_file else ""
        run = str(self.run_dir.resolve()) if self.run_dir else ""
        return {"kind": self.kind, "stack_file": stack, "run_dir": run}

    # -- instances ----------------------------------------------------------------------

    def instances(self, service: str | None = None) -> list[Instance]:
        """Live pods (not being deleted), in service order, then by namespace/name."""
        names = list(self.services) if service is None else [service]
        found = [
            Instance(name, pod_name(pod), identity_of(pod))
            for name in names
            if name in self.services
            for pod in self._pods(name)
        ]
        # one listing of many services is one snapshot: fresh from when it ended, so a
        # listing of 50 services that took over FRESH seconds does not make ready() get
        # each pod again (640 single-pod GETs, 3.8 s, at 1,000 pods on the test bed)
        done = time.monotonic()
        for name in names:
            if name in self._listed:
                self._listed[name] = (done, self._listed[name][1])
        return found

    def ready(self, instance: Instance) -> bool:
        """Its pod has condition Ready: read from the service's listing if that is under
        FRESH seconds old (preflight asks it of every pod it has just listed), else got."""
        when, pods = self._listed.get(instance.service, (0.0, {}))
        pod = pods.get(uid_of(instance)) if time.monotonic() - when < FRESH else None
        pod = pod or self._pod(instance)
        return pod is not None and is_ready(pod)

    def _pods(self, service: str) -> list[Pod]:
        """The service's live pods; what they show is noted for replacements and timings."""
        pods = pods_of(self.client, service, self.services[service], self.spec)
        self._note(service, pods)
        return pods

    def _pod(self, instance: Instance) -> Pod | None:
        """That very pod (by uid), live; None if it is gone or another pod has its name."""
        namespace, _, name = instance.name.partition("/")
        with calling("get", "pods", namespace):
            try:
                pod = self.client.get(Pod, name, namespace=namespace)
            except ApiError as e:
                if code_of(e) == 404:
                    return None
                raise
        same = pod.metadata is not None and pod.metadata.uid == uid_of(instance)
        return pod if same and live(pod) else None

    def _note(self, service: str, pods: list[Pod]) -> None:
        now = time.monotonic()
        self._listed[service] = (now, {uid_of_pod(p): p for p in pods})
        by_owner: dict[str | None, set[str]] = {}
        for pod in pods:
            by_owner.setdefault(controller_of(pod), set()).add(uid_of_pod(pod))
        groups = {owner: frozenset(uids) for owner, uids in by_owner.items()}
        for pod in pods:  # one set per owner, shared: its pods, each pod among them
            owner = controller_of(pod)
            self._seen[uid_of_pod(pod)] = Sighting(owner, groups[owner] if owner else frozenset())
        for uid, (of, started, timing) in self._timings.items():
            kill = self._kills.get(uid)
            if of != service or timing.ready is not None or kill is None:
                continue
            new = self._successor(kill.name, uid, kill.sighting(), kill.server_at, pods)
            if new is not None:
                timing.observe(new, now - started)

    # -- faults -------------------------------------------------------------------------

    def signal(self, instance: Instance, signal: str) -> bool:
        """SIGKILL: delete with grace 0; SIGTERM: with the pod's grace period; both only
        if the pod still has that uid. SIGSTOP/SIGCONT: nothing (False)."""
        if signal not in ("SIGKILL", "SIGTERM") or instance.service not in self.services:
            return False
        listed = self._pods(instance.service)  # its siblings, just before the delete
        pod = next((p for p in listed if uid_of_pod(p) == uid_of(instance)), None)
        if pod is None:  # gone, or no longer one of the service's
            return False
        assert pod.spec is not None
        grace = 0 if signal == "SIGKILL" else pod.spec.terminationGracePeriodSeconds
        kill = self._remember_kill(instance, signal)  # before the delete: others know
        started = time.monotonic()
        answer = self._delete(instance.name, kill.uid, DEFAULT_GRACE if grace is None else grace)
        if answer is None:
            return False
        self._time_kill(instance, replace(kill, server_at=answer), started)
        return True

    def _remember_kill(self, instance: Instance, how: str) -> Kill:
        """Its owner and siblings as just listed, kept before it is deleted."""
        uid = uid_of(instance)
        seen = self._seen.get(uid, Sighting(None, frozenset()))
        kill = Kill(uid, instance.name, how, seen.owner, tuple(sorted(seen.siblings)), time.time())
        self._kills.add(kill)
        return kill

    def _time_kill(self, instance: Instance, kill: Kill, started: float) -> None:
        if kill.server_at is not None:
            self._kills.add(kill)
        timing = KillTiming(
            instance.name, instance.identity, kill.signal, _server_at=kill.server_at
        )
        self._timings[kill.uid] = (instance.service, started, timing)

    def _delete(self, name: str, uid: str, grace: int) -> float | None:
        """Delete pod `name` if its uid is `uid`: the API server's clock then (its Date;
        now if it sent none), or None if it is gone or is another pod now."""
        namespace, _, pod = name.partition("/")
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": grace,
            "preconditions": {"uid": uid},
        }
        with calling("delete", "pods", namespace):
            try:
                resp = request(
                    self.client, "DELETE", f"api/v1/namespaces/{namespace}/pods/{pod}", body=body
                )
            except ApiError as e:
                if code_of(e) in (404, 409):  # gone; or the name is a successor's now
                    return None
                raise
        date = resp.headers.get("Date")
        return parsedate_to_datetime(date).timestamp() if date else time.time()

    def replacement(self, instance: Instance) -> Instance | None:
        """The pod that took this one's place: the same name with a new uid (StatefulSet),
        else a pod of the same controlling owner that was not its sibling when it was
        deleted (remembered by `signal`, else as last listed). None while it lives."""
        pods = self._pods(instance.service) if instance.service in self.services else []
        uid = uid_of(instance)
        if any(uid_of_pod(p) == uid for p in pods):
            return None
        kill = self._kills.get(uid)
        seen = kill.sighting() if kill else self._seen.get(uid)
        new = self._successor(instance.name, uid, seen, kill.server_at if kill else None, pods)
        return None if new is None else Instance(instance.service, pod_name(new), identity_of(new))

    def _successor(
        self, name: str, uid: str, seen: Sighting | None, after: float | None, pods: list[Pod]
    ) -> Pod | None:
        """`successor`, each replacement claimed by one killed pod only (the first to
        ask, in kill order when the listing notes timings), and kept while it lives."""
        mine = self._claimed.get(uid)
        kept = next((p for p in pods if uid_of_pod(p) == mine), None)
        if kept is not None:
            return kept
        taken = frozenset(v for k, v in self._claimed.items() if k != uid)
        new = successor(name, uid, seen, after, pods, taken)
        if new is not None:
            self._claimed[uid] = uid_of_pod(new)
        return new

    def kill_timing(self, instance: Instance) -> KillTiming | None:
        """For a pod this runtime deleted: seconds from the delete to its replacement
        created, Running and Ready, as far as seen now (None: it deleted no such pod)."""
        entry = self._timings.get(uid_of(instance))
        if entry is None:
            return None
        service, _, timing = entry
        if timing.ready is None:
            self._pods(service)
        return replace(timing)

    # -- the stack ----------------------------------------------------------------------

    def control_plane_alive(self) -> bool:
        """The API server answers /readyz (or, where that is not for us, /version).

        Asked again until `request_timeout` has passed: False makes the watchdog stop
        reverting, and one dropped connection to a remote cluster is not a cluster gone."""
        client = self.client  # a kubeconfig that cannot be used is an error, not "gone"
        deadline = time.monotonic() + self.spec.request_timeout
        while not _answers(client):
            if time.monotonic() >= deadline:
                return False
            time.sleep(RETRY_PAUSE)
        return True

    def endpoints(self) -> Endpoints:
        return self._endpoints

    def supported_faults(self) -> frozenset[str]:
        """Pod deletes always; Toxiproxy's faults where the topology has its proxies; and
        Chaos Mesh's (pause, CPU stress, network) when it is installed."""
        from harness.faults import NETWORK_FAULTS  # the faults import the runtime seam

        proxied = frozenset(NETWORK_FAULTS) if self._endpoints.toxiproxy else frozenset()
        mesh = CHAOS_MESH_FAULTS if self.spec.chaos_mesh is not None else frozenset()
        return BASE_FAULTS | proxied | mesh

    def fault_refusal(self, settings: FaultSettings) -> str | None:
        """What Chaos Mesh has no counterpart for (a direction, a toxicity), as written."""
        if self.spec.chaos_mesh is None or settings.type not in CHAOS_MESH_FAULTS:
            return None
        return refusal(settings)

    def replacement_stages(self, instance: Instance) -> dict[str, Any] | None:
        """Deleted → replacement created → Running → Ready, in seconds (`kill_timing`)."""
        timing = self.kill_timing(instance)
        return timing.to_json() if timing is not None else None

    def fault_objects(self) -> FaultObjects | None:
        """Chaos Mesh, when the topology says it is installed."""
        if self.spec.chaos_mesh is None:
            return None
        from harness.runtime.kubernetes.chaosmesh import ChaosMesh

        return ChaosMesh(self.client, self.spec)

    def own_actions(
        self, settings: FaultSettings, planned: Planned, run_id: str
    ) -> list[Action] | None:
        """Chaos Mesh objects for what it injects; None without it (pod deletes and
        Toxiproxy, the faults' own actions). The pods a pod-kill will delete are
        remembered as `signal` remembers its own (owner, siblings: the replacement is
        found in another process too) and timed from now, just before the object is
        created (so their figures include Chaos Mesh's own delay)."""
        if self.spec.chaos_mesh is None:
            return None
        from harness.runtime.kubernetes.chaosmesh import chaos_actions

        actions = chaos_actions(settings, planned, run_id, self)
        for action in actions or []:
            for pod in getattr(action, "killed", ()):  # a PodChaos pod-kill's pods
                self._time_kill(pod, self._remember_kill(pod, "pod-kill"), time.monotonic())
        return actions


def _answers(client: lightkube.Client) -> bool:
    for path in ("readyz", "version"):
        try:
            request(client, "GET", path)
            return True
        except ApiError as e:
            if code_of(e) not in (401, 403):
                return False
        except Exception:  # noqa: BLE001 (any failure to answer is "not now")
            return False
    return False


def uid_of_pod(pod: Pod) -> str:
    assert pod.metadata is not None and pod.metadata.uid is not None
    return pod.metadata.uid
