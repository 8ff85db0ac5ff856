"""A few Kubernetes API calls over httpx, for the test bed and its tests: readiness, server-side
apply of manifests, and the reads and deletes a test needs. Every call has a timeout."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import yaml

FIELD_MANAGER = "chaos-harness-testbed"

# kind -> (API path prefix, plural, namespaced) for the objects the bed applies itself
_PATHS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Node": ("/api/v1", "nodes", False),
    "CustomResourceDefinition": (
        "/apis/apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        False,
    ),
}


class KubeApi:
    """An httpx client bound to the bed's API server, as one user (their bearer token)."""

    def __init__(self, server: str, ca_cert: Path, token: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(
            base_url=server,
            verify=ssl.create_default_context(cafile=str(ca_cert)),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: str) -> dict[str, Any]:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def apply(self, path: str, body: dict[str, Any], force: bool = True) -> dict[str, Any]:
        """Server-side apply (PATCH application/apply-patch+yaml): creates or updates `path`."""
        response = self.http.patch(
            path,
            params={"fieldManager": FIELD_MANAGER, "force": str(force).lower()},
            content=json.dumps(body),  # JSON is YAML
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        response.raise_for_status()
        return response.json()

    def delete(self, path: str, grace_seconds: int | None = None) -> httpx.Response:
        """Delete `path`; the response is returned unchecked (a test may expect a refusal)."""
        body = {} if grace_seconds is None else {"gracePeriodSeconds": grace_seconds}
        return self.http.request("DELETE", path, json=body)

    def apply_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of one object of a kind in `_PATHS`."""
        return self.apply(object_path(obj), obj)

    def apply_manifest(self, manifest: Path) -> list[str]:
        """Apply every object of a multi-document YAML file; their names."""
        objects = [o for o in yaml.safe_load_all(manifest.read_text()) if o]
        for obj in objects:
            self.apply_object(obj)
        return [o["metadata"]["name"] for o in objects]


def object_path(obj: dict[str, Any]) -> str:
    """The URL path of an object of a kind the bed applies (namespaces, nodes, CRDs)."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    if kind not in _PATHS:
        raise ValueError(f"the test bed applies no {kind} objects (only {sorted(_PATHS)})")
    prefix, plural, _ = _PATHS[kind]
    return f"{prefix}/{plural}/{name}"


def condition(obj: dict[str, Any], kind: str) -> str | None:
    """The status ("True", "False", "Unknown") of a status condition, or None if absent."""
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond.get("status")
    return None
