"""The `kubernetes:` part of a topology, and a service as pods in a cluster.

A topology with `runtime: kubernetes` hurts pods the cluster runs: the harness starts
nothing. Which cluster (a kubeconfig and its context; by default the in-cluster
config or `KUBECONFIG`), which namespaces an experiment may touch at all, and whether
Chaos Mesh is there to inject in-cluster faults. A service is a pod selector written
as Chaos Mesh writes one (`namespaces`, `labelSelectors`, `expressionSelectors`,
`pods`), so a selector can be copied between a Chaos Mesh object and this file.

The namespaces outside the list, `kube-system` (and every `kube-*`), Chaos Mesh's own
namespace and pods on the host's network are refused unless a field says otherwise:
hurting the cluster's own machinery is never a side effect of a loose selector.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from harness.specs.base import Strict
from harness.specs.durations import Duration
from harness.specs.yamlload import FieldError

__all__ = [
    "DNS_LABEL",
    "ChaosMeshSpec",
    "KubernetesSpec",
    "LabelExpression",
    "PodSelector",
    "system_namespace",
]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"  # a namespace name (RFC 1123 label)


def system_namespace(namespace: str) -> bool:
    """The cluster's own: kube-system, kube-public, kube-node-lease."""
    return namespace.startswith("kube-")


class LabelExpression(Strict):
    """A set-based requirement on a label, as in a Kubernetes label selector."""

    key: str = Field(min_length=1, description="the label's key, e.g. app.kubernetes.io/name")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In/NotIn: the value is (not) one of values; Exists/DoesNotExist: the key"
    )
    values: tuple[str, ...] = Field((), description="with In/NotIn: the values")

    @model_validator(mode="after")
    def _values_fit(self) -> LabelExpression:
        if self.operator in ("In", "NotIn") and not self.values:
            raise FieldError(("values",), f"{self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise FieldError(("values",), f"{self.operator} takes no values")
        return self


class PodSelector(Strict):
    """Which pods are a service's instances, as Chaos Mesh's `selector` writes it.

    Every field narrows: a pod must be in one of `namespaces` and match every label and
    expression. `pods` names pods outright (namespace → names) instead.
    """

    namespaces: tuple[str, ...] = Field(
        (), description="the namespaces its pods run in (omitted: every listed namespace)"
    )
    labelSelectors: dict[str, str] = Field(  # noqa: N815 (Chaos Mesh's spelling)
        {}, description="labels every pod has, e.g. {app: orders}"
    )
    expressionSelectors: tuple[LabelExpression, ...] = Field(  # noqa: N815
        (), description="set-based label requirements every pod meets"
    )
    pods: dict[str, tuple[str, ...]] = Field(
        {}, description="pods by name, per namespace (instead of labels)"
    )

    @model_validator(mode="after")
    def _selects_something(self) -> PodSelector:
        if self.pods and (self.labelSelectors or self.expressionSelectors):
            raise FieldError(("pods",), "give pods by name, or labels, not both")
        if not (self.pods or self.labelSelectors or self.expressionSelectors):
            raise FieldError(
                (),
                "give labelSelectors, expressionSelectors or pods: a selector with none "
                "would select every pod of its namespaces",
            )
        return self

    def label_selector(self) -> str:
        """The selector as the Kubernetes API's `labelSelector` query parameter reads it."""
        parts = [f"{k}={v}" for k, v in self.labelSelectors.items()]
        for e in self.expressionSelectors:
            if e.operator == "Exists":
                parts.append(e.key)
            elif e.operator == "DoesNotExist":
                parts.append(f"!{e.key}")
            else:
                parts.append(f"{e.key} {e.operator.lower()} ({','.join(e.values)})")
        return ",".join(parts)

    def chaos_mesh(self) -> dict[str, object]:
        """The selector in a Chaos Mesh object's `spec.selector` (field names as written)."""
        out: dict[str, object] = {}
        if self.namespaces:
            out["namespaces"] = list(self.namespaces)
        if self.labelSelectors:
            out["labelSelectors"] = dict(self.labelSelectors)
        if self.expressionSelectors:
            out["expressionSelectors"] = [
                {"key": e.key, "operator": e.operator, "values": list(e.values)}
                for e in self.expressionSelectors
            ]
        if self.pods:
            out["pods"] = {ns: list(names) for ns, names in self.pods.items()}
        return out

    def selected_namespaces(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.namespaces, *self.pods)))


class ChaosMeshSpec(Strict):
    """Chaos Mesh, installed in the cluster: in-cluster faults become its objects."""

    namespace: str = Field(
        "chaos-mesh", pattern=DNS_LABEL, description="where Chaos Mesh runs (never a target)"
    )
    objects_namespace: str | None = Field(
        None,
        pattern=DNS_LABEL,
        description="where the harness creates its chaos objects; omitted: the namespace of "
        "the pods each one targets",
    )
    margin: Duration = Field(
        30.0,
        gt=0,
        description="each object's `duration` is its fault's window plus this: Chaos Mesh "
        "itself ends the fault if both the harness and its watchdog die",
    )
    inject_timeout: Duration = Field(
        30.0, gt=0, description="how long an object may take to report AllInjected"
    )
    delete_timeout: Duration = Field(
        30.0,
        gt=0,
        description="how long a deleted object may take to be gone (Chaos Mesh's finalizer "
        "holds it until the fault is recovered); past it, the rollback is incomplete",
    )


class KubernetesSpec(Strict):
    """The cluster the services run in, and what an experiment may touch there."""

    kubeconfig: Path | None = Field(
        None,
        description="a kubeconfig file, relative to the stack file; omitted: the in-cluster "
        "service account, else $KUBECONFIG, else ~/.kube/config",
    )
    context: str | None = Field(None, description="the kubeconfig's context; omitted: its current")
    namespaces: tuple[str, ...] = Field(
        min_length=1, description="the only namespaces an experiment may touch"
    )
    chaos_mesh: ChaosMeshSpec | None = Field(
        None,
        description="Chaos Mesh, if installed: pause, cpu_stress and network faults go through "
        "it; omitted: only kill and terminate (pod deletes through the API)",
    )
    allow_system_namespaces: bool = Field(
        False, description="true: kube-* and Chaos Mesh's namespace may be listed and targeted"
    )
    allow_host_network: bool = Field(
        False, description="true: pods on the host's network may be hurt (they share the node's)"
    )
    request_timeout: Duration = Field(
        10.0, gt=0, le=120, description="every call to the API server gives up after this"
    )

    @model_validator(mode="after")
    def _namespaces_allowed(self) -> KubernetesSpec:
        for i, ns in enumerate(self.namespaces):
            if not _is_label(ns):
                raise FieldError(("namespaces", i), f"{ns!r} is not a namespace name")
            if self.allow_system_namespaces:
                continue
            if system_namespace(ns):
                raise FieldError(
                    ("namespaces", i),
                    f"{ns} is the cluster's own namespace: set allow_system_namespaces: true "
                    "to let an experiment touch it",
                )
            if self.chaos_mesh is not None and ns == self.chaos_mesh.namespace:
                raise FieldError(
                    ("namespaces", i),
                    f"{ns} is where Chaos Mesh runs: set allow_system_namespaces: true to let "
                    "an experiment touch it",
                )
        return self


def _is_label(name: str) -> bool:
    return bool(re.fullmatch(DNS_LABEL, name)) and len(name) <= 63
