"""A Kubernetes API server in memory, behind `httpx2.MockTransport`, for unit tests of the
Kubernetes runtime: pods listed (by label selector), read and deleted (grace period,
uid precondition), /readyz, and what a test makes it do (refuse a verb with 403, time
out, go away, change between two calls). A test plays the controllers: it adds the replacement pods itself."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import yaml

__all__ = ["TOKEN", "FakeKube", "write_kubeconfig"]

TOKEN = "s3cret-t0ken-never-shown"
SERVER = "https://kube.test"
_POD_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$")


def write_kubeconfig(path: Path, token: str = TOKEN, context: str = "test") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": SERVER}}],
        "users": [{"name": "harness", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "harness"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config))
    return path


class FakeKube:
    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[httpx2.Request] = []
        self.forbidden: set[tuple[str, str]] = set()  # (HTTP method, namespace) → 403
        # runs before each request is answered: may raise (a timeout), change the pods or
        # answer it instead (what it returns, if not None)
        self.hook: Callable[[httpx2.Request], httpx2.Response | None] | None = None
        self.now = datetime(2026, 12, 7, 20, 0, 0, tzinfo=UTC)
        self._uids = itertools.count(1)

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    # -- what a test puts in it ---------------------------------------------------------

    def add_pod(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str] | None = None,
        owner: str | None = None,
        ready: bool = True,
        host_network: bool = False,
        grace: int | None = None,
        phase: str = "Running",
    ) -> dict[str, Any]:
        """A pod (owned by the controller with uid `owner`, if given); its uid is new."""
        stamp = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{next(self._uids)}",
            "labels": labels or {"app": name.rsplit("-", 1)[0]},
            "creationTimestamp": stamp,
        }
        if owner is not None:
            meta["ownerReferences"] = [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": owner,
                 "controller": True},
            ]  # fmt: skip
        spec: dict[str, Any] = {"containers": [{"name": "app", "image": "app:1"}]}
        if host_network:
            spec["hostNetwork"] = True
        if grace is not None:
            spec["terminationGracePeriodSeconds"] = grace
        conditions = [{"type": "Ready", "status": "True" if ready else "False",
                       "lastTransitionTime": stamp}]  # fmt: skip
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
               "status": {"phase": phase, "conditions": conditions}}  # fmt: skip
        self.pods[(namespace, name)] = pod
        return pod

    def deletes(self) -> list[dict[str, Any]]:
        """The bodies of the DELETE requests it received, in order."""
        return [json.loads(r.content) for r in self.requests if r.method == "DELETE"]

    # -- the API ------------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.hook is not None and (answer := self.hook(request)) is not None:
            return answer
        path = request.url.path
        if path in ("/readyz", "/version"):
            return httpx2.Response(200, text="ok")
        match = _POD_PATH.match(path)
        if match is None:
            return _status(404, "NotFound", f"no route {path}")
        namespace, name = match.groups()
        if (request.method, namespace) in self.forbidden:
            verb = {"GET": "list" if name is None else "get", "DELETE": "delete"}[request.method]
            return _status(403, "Forbidden", f'pods "{name or ""}" is forbidden: User "limited" '
                           f'cannot {verb} resource "pods" in API group "" in the namespace '
                           f'"{namespace}"')  # fmt: skip
        if name is None:
            return self._list(namespace, request.url.params.get("labelSelector", ""))
        if request.method == "DELETE":
            return self._delete(namespace, name, json.loads(request.content or b"{}"))
        pod = self.pods.get((namespace, name))
        return httpx2.Response(200, json=pod) if pod else _status(404, "NotFound", name)

    def _list(self, namespace: str, selector: str) -> httpx2.Response:
        items = [
            pod
            for (ns, _), pod in sorted(self.pods.items())
            if ns == namespace and matches(selector, pod["metadata"]["labels"])
        ]
        return httpx2.Response(200, json={"kind": "PodList", "apiVersion": "v1",
                                          "metadata": {}, "items": items})  # fmt: skip

    def _delete(self, namespace: str, name: str, options: dict[str, Any]) -> httpx2.Response:
        pod = self.pods.get((namespace, name))
        if pod is None:
            return _status(404, "NotFound", f'pods "{name}" not found')
        wanted = (options.get("preconditions") or {}).get("uid")
        if wanted is not None and wanted != pod["metadata"]["uid"]:
            return _status(409, "Conflict", "Precondition failed: UID in precondition")
        if options.get("gracePeriodSeconds") == 0:
            del self.pods[(namespace, name)]
        else:
            pod["metadata"]["deletionTimestamp"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {"Date": self.now.strftime("%a, %d %b %Y %H:%M:%S GMT")}
        return httpx2.Response(200, json=pod, headers=headers)


def matches(selector: str, labels: dict[str, str]) -> bool:
    """A label selector as the API reads it: k=v, k in (a,b), k notin (a,b), k, !k."""
    for term in re.split(r",(?![^(]*\))", selector) if selector else []:
        term = term.strip()
        if m := re.fullmatch(r"(\S+) (in|notin) \((.*)\)", term):
            key, op, values = m.group(1), m.group(2), m.group(3).split(",")
            if (labels.get(key) in values) != (op == "in"):
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _status(code: int, reason: str, message: str) -> httpx2.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}  # fmt: skip
    return httpx2.Response(code, json=body)
