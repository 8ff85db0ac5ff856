"""Chaos Mesh as the runtime's fault engine: create an object and await it injected,
delete it and await it gone, sweep a run's objects by label.

Nothing is taken on trust. An object counts as injected only when Chaos Mesh says
`AllInjected=True`; one that never is, within `inject_timeout`, is an error naming
what Chaos Mesh says stands in its way (its records, else its events), never a pass.
A deleted object is gone only when the API server no longer has it: Chaos Mesh's
finalizer `chaos-mesh/records` holds it until every record is recovered, and a delete
still held after `delete_timeout` is a rollback that is *incomplete*, naming the object,
its finalizer, its records, the chaos-daemon's node and what to run.

The harness never removes that finalizer. Evidence from the real controller on kwok
pods (tests/k8s/test_chaosmesh.py): a NetworkChaos that could not reach any
chaos-daemon ("cannot find daemonIP on node ...") has applied nothing, yet its record
sits at "Not Injected/Wait" because its controller already wrote the tc/iptables
rules into the pod's PodNetworkChaos, which Chaos Mesh retries applying and which
nothing cleans when the NetworkChaos is gone: with the finalizer stripped, a daemon
that comes back would inject a fault that no object owns and nobody would remove.
So "nothing applied now" is not "nothing will be": it stays stuck and is reported,
and the person who checked releases it. Where Chaos Mesh itself knows nothing was
committed (every record exactly "Not Injected", e.g. a StressChaos whose container was
not found) it lets go at once, and the delete completes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightkube
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Event, Pod

from harness.errors import HarnessError, Refused, RollbackFailed
from harness.faults.base import live_targets
from harness.faults.chaos import ChaosObject
from harness.faults.kill import Kill
from harness.runtime.base import Instance, Runtime
from harness.runtime.kubernetes.api import calling, code_of
from harness.runtime.kubernetes.chaosmanifests import (
    API_VERSION,
    KINDS,
    Target,
    injects,
    manifest_for,
    object_name,
    refusal,
    run_of,
)
from harness.runtime.kubernetes.labels import LABEL_RUN, LABEL_RUN_SCOPE, run_labels
from harness.specs.kubernetes import KubernetesSpec

if TYPE_CHECKING:
    from harness.faults.base import Action
    from harness.faults.settings import FaultSettings, Planned

__all__ = ["ChaosMesh", "ChaosStatus", "ObjectRef", "Record", "chaos_actions"]

POLL = 0.05  # seconds between looks at an object (create -> AllInjected: ~0.1 s on the bed)
_GROUP, _VERSION = API_VERSION.split("/")
_RESOURCES = {
    kind: create_namespaced_resource(_GROUP, _VERSION, kind, plural)
    for kind, plural in KINDS.items()
}


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> ObjectRef:
        meta = manifest["metadata"]
        if manifest.get("kind") not in KINDS:
            raise HarnessError(f"not a Chaos Mesh object the harness makes: {manifest.get('kind')}")
        return cls(manifest["kind"], meta["namespace"], meta["name"])

    @property
    def plural(self) -> str:
        return KINDS[self.kind]

    @property
    def resource(self) -> Any:
        return _RESOURCES[self.kind]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Record:
    """One target of an object as Chaos Mesh tracks it (its `Record{Id, Phase}`)."""

    id: str  # namespace/pod, or namespace/pod/container
    phase: str  # "Injected", "Not Injected", or a step between: "Not Injected/Wait"
    failures: tuple[str, ...]  # the messages of its failed events, oldest first

    @property
    def pod(self) -> tuple[str, str]:
        ns, _, rest = self.id.partition("/")
        return ns, rest.split("/")[0]

    def describe(self) -> str:
        last = f": {self.failures[-1]}" if self.failures else ""
        return f"{self.id}: {self.phase}{last}"


@dataclass(frozen=True)
class ChaosStatus:
    """An object's status, parsed once: its conditions, records and finalizers."""

    conditions: dict[str, str]
    records: tuple[Record, ...]
    finalizers: tuple[str, ...]
    deleting: bool

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ChaosStatus:
        status, meta = obj.get("status") or {}, obj.get("metadata") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        records = tuple(
            Record(
                r.get("id", "?"),
                r.get("phase", "?"),
                tuple(
                    e.get("message", "") for e in r.get("events") or [] if e.get("type") == "Failed"
                ),
            )
            for r in (status.get("experiment") or {}).get("containerRecords") or []
        )
        return cls(
            conditions, records, tuple(meta.get("finalizers") or ()), "deletionTimestamp" in meta
        )

    @property
    def injected(self) -> bool:
        return self.conditions.get("AllInjected") == "True"


class ChaosMesh:
    """The FaultObjects of a cluster with Chaos Mesh: its objects are the faults."""

    def __init__(self, client: lightkube.Client, spec: KubernetesSpec, poll: float = POLL):
        if spec.chaos_mesh is None:
            raise ValueError("ChaosMesh needs kubernetes.chaos_mesh in the topology")
        self.client, self.cm, self.poll = client, spec.chaos_mesh, poll
        extra = (self.cm.objects_namespace,) if self.cm.objects_namespace else ()
        self.namespaces = tuple(dict.fromkeys((*spec.namespaces, *extra)))

    def create(self, manifest: dict[str, Any]) -> None:
        """Create it, then await AllInjected until inject_timeout; an error naming what
        Chaos Mesh says stands in the way if it never is (the object stays)."""
        ref = ObjectRef.of(manifest)
        deadline = time.monotonic() + self.cm.inject_timeout
        self._create(ref, manifest)
        while True:
            obj = self._get(ref)
            if obj is None:
                raise HarnessError(f"{ref} vanished before Chaos Mesh injected it")
            status = ChaosStatus.of(obj)
            if status.injected:
                return
            if time.monotonic() >= deadline:
                raise HarnessError(self._never_injected(ref, status))
            time.sleep(self.poll)

    def delete(self, manifest: dict[str, Any]) -> None:
        """Delete it and await it gone until delete_timeout; still there: RollbackFailed
        ("rollback incomplete") naming it and what to check. Gone already is done."""
        ref = ObjectRef.of(manifest)
        self._delete(ref)
        stuck = self._await_gone([ref])
        if stuck:
            raise RollbackFailed(self._stuck(*stuck[0]))

    def sweep(self, run_id: str) -> list[str]:
        """Delete every object labelled with the run id (its steps' too) in the allowed
        namespaces, await them gone; what was deleted, or RollbackFailed naming the rest."""
        found = [
            ref for ns in self.namespaces for kind in KINDS for ref in self._list(kind, ns, run_id)
        ]
        for ref in found:
            self._delete(ref)
        stuck = self._await_gone(found)
        if stuck:
            raise RollbackFailed("\n".join(self._stuck(ref, status) for ref, status in stuck))
        return [f"{ref} deleted" for ref in found]

    # -- calls -----------------------------------------------------------------------------

    def _create(self, ref: ObjectRef, manifest: dict[str, Any]) -> None:
        with calling("create", ref.plural, ref.namespace):
            try:
                self.client.create(ref.resource(manifest))
                return
            except ApiError as e:
                if code_of(e) != 409:
                    raise
        # already there: ours if it carries this scope's label (a create retried), else not
        obj = self._get(ref) or {}
        theirs = (obj.get("metadata") or {}).get("labels") or {}
        if theirs.get(LABEL_RUN_SCOPE) != manifest["metadata"]["labels"].get(LABEL_RUN_SCOPE):
            raise Refused(
                f"{ref} already exists and is not this run's: the harness leaves it alone"
            )

    def _get(self, ref: ObjectRef) -> dict[str, Any] | None:
        with calling("get", ref.plural, ref.namespace):
            try:
                return dict(self.client.get(ref.resource, ref.name, namespace=ref.namespace))
            except ApiError as e:
                if code_of(e) == 404:
                    return None
                raise

    def _delete(self, ref: ObjectRef) -> None:
        with calling("delete", ref.plural, ref.namespace):
            try:
                self.client.delete(ref.resource, ref.name, namespace=ref.namespace)
            except ApiError as e:
                if code_of(e) != 404:
                    raise

    def _list(self, kind: str, namespace: str, run_id: str) -> list[ObjectRef]:
        with calling("list", KINDS[kind], namespace):
            found = self.client.list(
                _RESOURCES[kind], namespace=namespace, labels={LABEL_RUN: run_id}
            )
            return [ObjectRef(kind, namespace, o["metadata"]["name"]) for o in found]

    def _await_gone(self, refs: Iterable[ObjectRef]) -> list[tuple[ObjectRef, ChaosStatus]]:
        """Poll until every object is gone or delete_timeout passes; those still there."""
        deadline = time.monotonic() + self.cm.delete_timeout
        left = list(refs)
        while True:
            there = [(ref, obj) for ref in left if (obj := self._get(ref)) is not None]
            if not there or time.monotonic() >= deadline:
                return [(ref, ChaosStatus.of(obj)) for ref, obj in there]
            left = [ref for ref, _ in there]
            time.sleep(self.poll)

    # -- what to tell ----------------------------------------------------------------------

    def _never_injected(self, ref: ObjectRef, status: ChaosStatus) -> str:
        pending = [r for r in status.records if r.phase != "Injected"]
        why = "; ".join(r.describe() for r in pending) or self._events(ref) or "no reason given"
        return (
            f"{ref} was never injected within {self.cm.inject_timeout:g}s (AllInjected: "
            f"{status.conditions.get('AllInjected', 'not reported')}): Chaos Mesh says: {why}; "
            "nothing counts as injected, and the object stays until its revert deletes it"
        )

    def _stuck(self, ref: ObjectRef, status: ChaosStatus) -> str:
        if not status.deleting:
            held = "not even marked for deletion"
        elif status.finalizers:
            held = f"held by finalizer {', '.join(status.finalizers)}"
        else:
            held = "not yet removed by the API server"
        records = "; ".join(r.describe() for r in status.records)
        nodes = self._nodes(status.records)
        daemon = f"the chaos-daemon on {', '.join(nodes)}" if nodes else "the chaos-daemons"
        extra = ""
        if ref.kind == "NetworkChaos" and status.records:
            ns, pod = status.records[0].pod
            extra = f", its rules in `kubectl get podnetworkchaos -n {ns} {pod} -o yaml`"
        return (
            f"rollback incomplete: {ref} is still there, {held}: the fault may still be "
            f"applied{f' ({records})' if records else ''}; check `kubectl get {ref.plural} "
            f"-n {ref.namespace} {ref.name} -o yaml`{extra}, {daemon}, then `harness recover`"
        )

    def _nodes(self, records: Iterable[Record]) -> list[str]:
        """The nodes of the records' pods (where their chaos-daemon runs), as far as known."""
        nodes: list[str] = []
        for ns, pod in dict.fromkeys(r.pod for r in records if "/" in r.id):
            try:
                with calling("get", "pods", ns):
                    spec = self.client.get(Pod, pod, namespace=ns).spec
            except HarnessError:
                continue  # gone or not readable: the message says what it can
            node = spec.nodeName if spec is not None else None
            if node and node not in nodes:
                nodes.append(node)
        return nodes

    def _events(self, ref: ObjectRef) -> str:
        """The object's failure events (e.g. "Failed to select targets: no pod is selected"), if readable."""
        try:
            with calling("list", "events", ref.namespace):
                events = list(self.client.list(
                    Event, namespace=ref.namespace,
                    fields={"involvedObject.name": ref.name, "involvedObject.kind": ref.kind},
                ))  # fmt: skip
        except HarnessError as e:
            return f"(its events could not be read: {e})"
        failed = [e.message or "" for e in events if e.reason == "Failed"]
        return "; ".join(dict.fromkeys(failed))


def chaos_actions(
    settings: FaultSettings, planned: Planned, scope: str, runtime: Runtime
) -> list[Action] | None:
    """One ChaosObject per namespace of the planned pods ("namespace/pod"), for exactly
    the pods live now, when the runtime's fault engine is Chaos Mesh (its settings:
    margin, objects' namespace); None for a fault it does not inject here (terminate: a
    delete with the pod's grace period; Toxiproxy's faults). `scope`: the run id, or a
    ramp step's `<run>-s2`."""
    engine = runtime.fault_objects()
    if not isinstance(engine, ChaosMesh) or not injects(settings):
        return None
    reason = refusal(settings)
    if reason is not None:
        raise Refused(reason)
    actions: list[Action] = []
    for n, (ns, pods) in enumerate(sorted(_live_by_namespace(planned, runtime).items())):
        target = Target(
            name=object_name(scope, planned.index, n),
            namespace=engine.cm.objects_namespace or ns,
            pods={ns: tuple(p.name.split("/", 1)[1] for p in pods)},
            labels=run_labels(run_of(scope), scope),
            seconds=settings.duration + engine.cm.margin,
        )
        manifest = manifest_for(settings, target)
        assert manifest is not None  # injects(settings): its type is in the table
        killed = tuple(pods) if isinstance(settings, Kill) else ()
        ref = ObjectRef.of(manifest)
        actions.append(
            ChaosObject(API_VERSION, ref.kind, ref.namespace, ref.name, manifest, killed)
        )
    return actions


def _live_by_namespace(planned: Planned, runtime: Runtime) -> dict[str, list[Instance]]:
    live = live_targets(planned, runtime)
    by_ns: dict[str, list[Instance]] = {}
    for name in planned.replicas:
        if "/" not in name:
            raise HarnessError(f"{name} is not a pod (namespace/name): Chaos Mesh cannot hit it")
        inst = live.get(name)
        if inst is None:
            raise HarnessError(f"{name} is not live: nothing to inject into")
        by_ns.setdefault(name.split("/", 1)[0], []).append(inst)
    return by_ns
