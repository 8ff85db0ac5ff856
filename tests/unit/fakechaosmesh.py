"""An API server with Chaos Mesh's objects, in memory (httpx2.MockTransport under a real
lightkube client): objects created, read, listed by label and deleted, with what Chaos
Mesh's controller would do scripted per object: injected after a few looks, never
injected (records and events say why), or held on delete by its finalizer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube import Client, KubeConfig

PREFIX = "/apis/chaos-mesh.org/v1alpha1/namespaces/"
KUBECONFIG = KubeConfig.from_dict(
    {
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s.test"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
)


@dataclass
class Script:
    """What the controller does with one object (by name)."""

    inject_after: int | None = 1  # looks (GETs) until AllInjected=True; None: never
    failure: str = "cannot find daemonIP on node node-1"  # a never-injected record's event
    phase: str = "Not Injected/Wait"  # a never-injected record's phase
    records: bool = True  # False: no target selected (no records; a Failed event)
    stuck: bool = False  # the finalizer holds it on delete
    deaf: bool = False  # a delete answered but not carried out (not even marked)


@dataclass
class FakeChaosMesh:
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    scripts: dict[str, Script] = field(default_factory=dict)
    forbid: set[tuple[str, str]] = field(default_factory=set)  # (method, plural) -> 403
    calls: list[tuple[str, str]] = field(default_factory=list)
    looks: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)  # pod name -> node

    def client(self) -> Client:
        return Client(KUBECONFIG, transport=httpx2.MockTransport(self.handler))

    def put(self, obj: dict[str, Any]) -> None:
        """An object already in the cluster (e.g. left by a crashed run)."""
        meta = obj["metadata"]
        self.objects[(_plural(obj["kind"]), meta["namespace"], meta["name"])] = obj

    def release(self, name: str) -> None:
        """What an operator does once they checked: the finalizer patched away."""
        for key in [k for k in self.objects if k[2] == name]:
            self.scripts[name].stuck = False
            if "deletionTimestamp" in self.objects[key]["metadata"]:
                del self.objects[key]

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        self.calls.append((method, path))
        parts = path.strip("/").split("/")
        core = path.startswith("/api/v1/")
        plural = parts[4] if core else parts[5]  # .../namespaces/NS/PLURAL[/NAME]
        if (method, plural) in self.forbid:
            return _status(403, f'{plural} is forbidden: User "limited" cannot {method.lower()} '
                                f'resource "{plural}" in API group "chaos-mesh.org"')  # fmt: skip
        if core:
            return self._core(parts, request)
        ns = parts[4]
        if method == "POST":
            return self._create(plural, ns, json.loads(request.content))
        if len(parts) == 6:
            return self._list(plural, ns, request.url.params.get("labelSelector", ""))
        key = (plural, ns, parts[6])
        if key not in self.objects:
            return _status(404, f'{plural} "{parts[6]}" not found')
        if method == "DELETE":
            return self._delete(key)
        return _ok(self._look(key))

    def _create(self, plural: str, ns: str, obj: dict[str, Any]) -> httpx2.Response:
        key = (plural, ns, obj["metadata"]["name"])
        if key in self.objects:
            return _status(409, f'{plural} "{key[2]}" already exists')
        obj["metadata"]["uid"] = f"uid-{key[2]}"
        obj["metadata"]["finalizers"] = ["chaos-mesh/records"]
        self.objects[key] = obj
        return httpx2.Response(201, content=json.dumps(obj))

    def _look(self, key: tuple[str, str, str]) -> dict[str, Any]:
        obj, name = self.objects[key], key[2]
        script = self.scripts.setdefault(name, Script())
        self.looks[name] = looks = self.looks.get(name, 0) + 1
        injected = script.inject_after is not None and looks >= script.inject_after
        pods = [f"{ns}/{p}" for ns, ps in obj["spec"]["selector"]["pods"].items() for p in ps]
        obj["status"] = _status_of(pods, injected, script)
        return obj

    def _list(self, plural: str, ns: str, selector: str) -> httpx2.Response:
        wanted = dict(kv.split("=", 1) for kv in selector.split(",") if kv)
        items = [
            o
            for (p, n, _), o in self.objects.items()
            if p == plural and n == ns
            and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]  # fmt: skip
        return _ok({"kind": "List", "metadata": {}, "items": items})

    def _delete(self, key: tuple[str, str, str]) -> httpx2.Response:
        obj, script = self.objects[key], self.scripts.setdefault(key[2], Script())
        if script.deaf:
            return _ok(obj)
        if script.stuck:
            obj["metadata"]["deletionTimestamp"] = "2026-12-07T21:00:00Z"
        else:
            del self.objects[key]
        return _ok(obj)

    def _core(self, parts: list[str], request: httpx2.Request) -> httpx2.Response:
        if parts[-1] == "events":
            name = request.url.params.get("fieldSelector", "")
            return _ok({"kind": "EventList", "metadata": {}, "items": self._events(name)})
        node = self.nodes.get(parts[-1])
        if parts[-2] != "pods" or node is None:
            return _status(404, f'pods "{parts[-1]}" not found')
        return _ok({"kind": "Pod", "metadata": {"name": parts[-1]}, "spec": {"nodeName": node,
                    "containers": []}})  # fmt: skip

    def _events(self, selector: str) -> list[dict[str, Any]]:
        return [
            {"metadata": {"name": f"e{i}"}, "involvedObject": {}, "reason": "Failed",
             "message": "Failed to select targets: no pod is selected"}
            for i, (_, _, name) in enumerate(self.objects)
            if f"involvedObject.name={name}" in selector and not self.scripts[name].records
        ]  # fmt: skip


def _status_of(pods: list[str], injected: bool, script: Script) -> dict[str, Any]:
    failed = [] if injected else [{"type": "Failed", "operation": "Apply",
                                   "message": script.failure, "timestamp": "t"}]  # fmt: skip
    records = [
        {"id": p, "selectorKey": ".", "phase": "Injected" if injected else script.phase,
         "injectedCount": int(injected), "recoveredCount": 0, "events": failed}
        for p in pods
    ]  # fmt: skip
    conditions = [
        {"type": "Selected", "status": str(script.records)},
        {"type": "AllInjected", "status": str(injected)},
    ]
    experiment = {"desiredPhase": "Run", "containerRecords": records if script.records else []}
    return {"conditions": conditions, "experiment": experiment}


def _plural(kind: str) -> str:
    return kind.lower()


def _ok(body: dict[str, Any]) -> httpx2.Response:
    return httpx2.Response(200, content=json.dumps(body))


def _status(code: int, message: str) -> httpx2.Response:
    return httpx2.Response(code, json={"kind": "Status", "code": code, "message": message})
