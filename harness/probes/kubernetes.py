"""Kubernetes probes: a workload's pods as the API reports them now — no scrape to wait for.

A reading is the workload (for its label selector and its desired replicas) and the pods
that selector picks. Ready replicas are counted from the pods themselves (Ready and not
being deleted), as the runtime counts live instances, rather than from the controller's
status, which lags a deleted pod by the controller's next sync.

`restarts` sums `restartCount` over the pods there are now: a pod the fault deleted takes
its count with it. With a `window` it is an increase instead: the restarts since the
newest reading at least `window` old, per container (a pod created since counts all of
its restarts, a pod gone since counts those seen until its last reading). Until the
probe has read that far back it is "pending"; restarts between a pod's last reading and
its deletion are not seen (at most one evaluation interval).

The workload missing is "no data"; an API that refuses (403), errs or does not answer is
"error": neither is ever a pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube import ApiError, Client, operators
from lightkube.core.exceptions import ConfigError
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Pod

from harness.probes.promql import OPS, ProbeResult, Status
from harness.specs.probes import KubernetesProbe, WorkloadRef

__all__ = ["KubernetesProbes", "Reading", "client_of", "describe", "read_workload"]

_KINDS: dict[str, Any] = {
    "Deployment": Deployment,
    "StatefulSet": StatefulSet,
    "ReplicaSet": ReplicaSet,
    "DaemonSet": DaemonSet,
}
_METRICS = {
    "ready_replicas": "ready replicas",
    "unready_replicas": "unready replicas",
    "restarts": "container restarts",
}
_OPERATORS = {
    "In": operators.in_,
    "NotIn": operators.not_in,
    "Exists": lambda _: operators.exists(),
    "DoesNotExist": lambda _: operators.not_exists(),
}


class NoWorkload(Exception):
    """The workload is not there: "no data", not an error of the probe's."""


@dataclass(frozen=True)
class Reading:
    """One read of a workload: its desired replicas, its pods, their restarts."""

    desired: int
    pods: int
    ready: int
    restarts: dict[str, int]  # "pod uid/container" -> restartCount


def client_of(runtime: object) -> Client | None:
    """The Kubernetes client a runtime offers (`client`), None when it has none. The
    Kubernetes runtime connects on first use: a kubeconfig it cannot use is its own
    InvalidInput, raised here in preflight."""
    client = getattr(runtime, "client", None)
    return client if isinstance(client, Client) else None


def describe(probe: KubernetesProbe) -> str:
    """ "Deployment shop/orders ready replicas": what reports call the probe's value."""
    reading = probe.kubernetes
    text = f"{reading.workload.label()} {_METRICS[reading.metric]}"
    return text if reading.window is None else f"{text} over the last {reading.window:g}s"


def read_workload(client: Client, ref: WorkloadRef) -> Reading:
    """The workload and the pods its selector picks (NoWorkload: it does not exist)."""
    try:
        obj = client.get(_KINDS[ref.kind], ref.name, namespace=ref.namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            raise NoWorkload(f"{ref.label()} not found") from exc
        raise
    # a list of pairs, which lightkube takes too (its types say a dict): a key may repeat
    selector: Any = _selector(obj.spec.selector)
    if not selector:
        raise NoWorkload(f"{ref.label()} has an empty selector: it picks no pods of its own")
    pods = list(client.list(Pod, namespace=ref.namespace, labels=selector))
    if ref.kind == "DaemonSet":
        desired = (obj.status.desiredNumberScheduled if obj.status else 0) or 0
    else:
        desired = 1 if obj.spec.replicas is None else obj.spec.replicas
    live = [p for p in pods if p.metadata is None or p.metadata.deletionTimestamp is None]
    return Reading(desired, len(pods), sum(1 for p in live if _ready(p)), _restarts(pods))


def _selector(selector: Any) -> list[tuple[str, Any]]:
    """A LabelSelector as lightkube's list of (key, operator) pairs."""
    if selector is None:
        return []
    pairs: list[tuple[str, Any]] = list((selector.matchLabels or {}).items())
    for expr in selector.matchExpressions or []:
        pairs.append((expr.key, _OPERATORS[expr.operator](expr.values or [])))
    return pairs


def _ready(pod: Pod) -> bool:
    conditions = pod.status.conditions if pod.status else None
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])


def _restarts(pods: Iterable[Pod]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in pods:
        status = pod.status
        if status is None:
            continue
        for c in [*(status.initContainerStatuses or []), *(status.containerStatuses or [])]:
            uid = pod.metadata.uid if pod.metadata else None
            counts[f"{uid}/{c.name}"] = c.restartCount or 0
    return counts


@dataclass
class KubernetesProbes:
    """Evaluates a run's Kubernetes probes; keeps the readings a restarts `window` needs
    (one instance per run: the history of one run says nothing of the next)."""

    history: dict[str, list[tuple[float, dict[str, int]]]] = field(default_factory=dict)

    def evaluate(
        self, probe: KubernetesProbe, client: Client | None, now: float | None = None
    ) -> ProbeResult:
        """Read the probe's workload through `client` and compare; never a pass unread."""
        at = time.time() if now is None else now

        def result(value: float | None, status: Status, detail: str) -> ProbeResult:
            return ProbeResult(
                probe.name, describe(probe), probe.op, probe.threshold, value, at, status, detail
            )

        if client is None:
            return result(None, "error", "no Kubernetes API: the run's runtime is not kubernetes")
        try:
            reading = read_workload(client, probe.kubernetes.workload)
        except NoWorkload as exc:
            return result(None, "no data", str(exc))
        except (httpx2.HTTPError, ConfigError) as exc:  # ApiError is an HTTPError
            return result(None, "error", _failure(probe.kubernetes.workload, exc))
        value, detail = self._value(probe, reading, at)
        if value is None:  # a restarts window the probe has not yet read back that far
            return result(None, "pending", detail)
        ok = OPS[probe.op](value, probe.threshold)
        return result(value, "pass" if ok else "fail", detail)

    def _value(
        self, probe: KubernetesProbe, reading: Reading, at: float
    ) -> tuple[float | None, str]:
        pods = f"{reading.pods} pod{'s' * (reading.pods != 1)}"
        ready = f"{reading.ready} of {reading.desired} ready; {pods}"
        metric, window = probe.kubernetes.metric, probe.kubernetes.window
        if metric == "ready_replicas":
            return float(reading.ready), ready
        if metric == "unready_replicas":
            return float(max(0, reading.desired - reading.ready)), ready
        if window is None:
            return float(sum(reading.restarts.values())), pods
        return self._increase(probe.name, window, reading.restarts, at, pods)

    def _increase(
        self, name: str, window: float, counts: dict[str, int], at: float, pods: str
    ) -> tuple[float | None, str]:
        """Restarts since the newest reading at least `window` old (None: none yet)."""
        readings = self.history.setdefault(name, [])
        readings.append((at, counts))
        old = [i for i, (t, _) in enumerate(readings) if t <= at - window]
        if not old:
            first = at - readings[0][0]
            return None, f"read for {first:.1f} s of its {window:g} s window so far"
        del readings[: old[-1]]  # the baseline stays: the next reading may still need it
        baseline = readings[0][1]
        last_seen: dict[str, int] = {}
        for _, seen in readings[1:]:
            last_seen.update(seen)
        increase = sum(max(0, n - baseline.get(key, 0)) for key, n in last_seen.items())
        return float(increase), f"since the reading {at - readings[0][0]:.1f} s ago; {pods}"


def _failure(ref: WorkloadRef, exc: Exception) -> str:
    """Why the workload could not be read, naming the call (and the 403's reason)."""
    what = f"get {ref.kind.lower()}s and list pods in namespace {ref.namespace}"
    if isinstance(exc, ApiError):
        code = exc.status.code
        if code == 403:
            return f"refused (403): cannot {what}: {exc.status.message}"
        return f"the Kubernetes API answered {code} to {what}: {exc.status.message}"
    return f"the Kubernetes API did not answer ({type(exc).__name__}: {exc}) to {what}"
