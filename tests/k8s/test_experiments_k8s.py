"""Real experiments through the real CLI on the Kubernetes test bed: Deployments of three
kwok pods, a real Prometheus (preflight needs one), steady state by the Kubernetes probe.

A pod killed through the API and one through Chaos Mesh's PodChaos: held, the replacement
measured; blast-radius limits decided against the live pods; a NetworkChaos never
injected (no chaos-daemon here) is an honest error, held by its finalizer ("rollback
incomplete") until released, then `harness recover`; the harness SIGKILLed mid-fault and
its watchdog deleting the run's objects; refusals (a namespace outside the list, an
RBAC-limited token) with nothing created; the dry run naming the pods it would hit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.runtime.kubernetes.labels import LABEL_RUN
from harness.safety.journal import read_events
from tests.integration.stackfixture import HARNESS, ROOT, harness
from tests.k8s.cluster import cluster_stack, experiment, prometheus, ready_probe
from tests.k8s.kubeapi import KubeApi
from tests.k8s.testbed import TestBed
from tests.k8s.workloads import apply_deployment, await_ready, ready_pods, uids
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

NS = "exp-k8s"
APPS = ("web", "pay", "net", "frozen")  # one Deployment per case that changes its pods
CHAOS = "/apis/chaos-mesh.org/v1alpha1/namespaces"
PLURALS = ("podchaos", "networkchaos", "stresschaos")


@dataclass(frozen=True)
class Cluster:
    bed: TestBed
    api: KubeApi
    root: Path
    api_stack: Path  # no Chaos Mesh: kill deletes pods through the API
    chaos_stack: Path | None  # Chaos Mesh configured (when the bed runs its controller)
    limited_stack: Path  # the user bound to no role


@pytest.fixture(scope="module")
def cluster(k8s_bed: TestBed, tmp_path_factory) -> Cluster:
    root = tmp_path_factory.mktemp("k8s-experiments")
    api = k8s_bed.api()
    with prometheus(root / "prometheus") as url:
        for app in APPS:
            apply_deployment(api, NS, app, replicas=3)
        for app in APPS:
            await_ready(api, NS, app, 3)
        services = {app: NS for app in APPS}
        chaos = None
        if k8s_bed.chaos_mesh:
            chaos = cluster_stack(root / "chaos.yaml", k8s_bed, url, (NS,), services)
        no_chaos = TestBed.__new__(TestBed)  # the same bed, written without Chaos Mesh
        no_chaos.__dict__.update(k8s_bed.__dict__, chaos_mesh=False)
        yield Cluster(
            k8s_bed,
            api,
            root,
            cluster_stack(root / "api.yaml", no_chaos, url, (NS,), services),
            chaos,
            cluster_stack(
                root / "limited.yaml",
                no_chaos,
                url,
                (NS,),
                services,
                kubeconfig=k8s_bed.limited_kubeconfig,
            ),
        )
    api.close()


def _chaos_stack(cluster: Cluster) -> Path:
    if cluster.chaos_stack is None:
        pytest.skip("Chaos Mesh's controller is not built (`make k8s` builds it)")
    return cluster.chaos_stack


def _run(
    stack: Path, exp: Path, tmp: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    result = harness(*_args(stack, exp, tmp), *extra, timeout=120)
    return result, _journal(tmp)


def _args(stack: Path, exp: Path, tmp: Path) -> list[str]:
    return ["run", str(exp), "--stack", str(stack), "--stack-dir", str(tmp / "state"),
            "--results-dir", str(tmp / "runs")]  # fmt: skip


def _journal(tmp: Path) -> list[dict[str, Any]]:
    journals = sorted((tmp / "runs").glob("*/journal.jsonl"))
    return read_events(journals[-1]) if journals else []


def _events(journal: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in journal if e["event"] == name]


def _verdict(journal: list[dict[str, Any]]) -> dict[str, Any]:
    (verdict,) = _events(journal, "verdict")
    return verdict


def _objects(api: KubeApi, run_id: str) -> list[str]:
    """Every Chaos Mesh object of the run (its ramp steps' too), by the run's label."""
    found = []
    for plural in PLURALS:
        listed = api.get(f"{CHAOS}/{NS}/{plural}", labelSelector=f"chaos-harness/run={run_id}")
        found += [f"{plural}/{o['metadata']['name']}" for o in listed["items"]]
    return found


def _kill(tmp: Path, name: str, app: str, targets: str, blast: str) -> Path:
    return experiment(
        tmp / f"{name}.yaml",
        name,
        f"hit: {targets}",
        "- {type: kill, target: hit, duration: 2s}",
        ready_probe(f"{app}-ready", NS, app, ">=", 3),
        blast=f"{blast}\nmax_duration: 30s",
    )


def _untouched(api: KubeApi, app: str) -> set[str]:
    """The uids of the app's pods, none of them being deleted (nothing deleted: the same)."""
    pods = api.get(f"/api/v1/namespaces/{NS}/pods", labelSelector=f"app={app}")["items"]
    deleting = [p["metadata"]["name"] for p in pods if "deletionTimestamp" in p["metadata"]]
    assert not deleting, f"pods being deleted: {deleting}"
    return uids(pods)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


# -- kills: through the API, through Chaos Mesh ---------------------------------------


def test_killing_one_of_three_pods_holds_and_the_replacement_is_measured(cluster, tmp_path):
    before = await_ready(cluster.api, NS, "web", 3)
    exp = _kill(tmp_path, "kill-one", "web", "{service: web, count: 1}", "max_targets: 1")
    result, journal = _run(cluster.api_stack, exp, tmp_path)
    out = _output(result)
    print(out)
    assert result.returncode == 0, out
    assert _verdict(journal)["verdict"] == "held"
    (planned,) = _events(journal, "planned")
    (victim,) = planned["replicas"]
    assert victim in {f"{NS}/{p['metadata']['name']}" for p in before}
    (back,) = _events(journal, "replica.back")
    stages = back["stages"]
    assert back["killed"] == victim and back["replica"] != victim
    assert back["replica"].startswith(f"{NS}/web-") and back["identity"].startswith("uid:")
    assert 0 <= stages["created"] <= stages["ready"] <= 10 and back["seconds"] == stages["ready"]
    assert _verdict(journal)["figures"]["restart_seconds"] == back["seconds"]
    after = await_ready(cluster.api, NS, "web", 3)
    killed = {p["metadata"]["uid"] for p in before if f"{NS}/{p['metadata']['name']}" == victim}
    assert killed and not killed & uids(after) and len(uids(before) & uids(after)) == 2
    report = next((tmp_path / "runs").glob("*-kill-one/report.html")).read_text()
    assert victim in report and back["replica"] in report
    print(f"API kill → replacement Ready: {back['seconds']} s (stages {stages})")


def test_a_pod_kill_through_chaos_mesh_holds_and_leaves_no_object(cluster, tmp_path):
    stack = _chaos_stack(cluster)
    before = uids(await_ready(cluster.api, NS, "pay", 3))
    exp = _kill(tmp_path, "cm-kill", "pay", "{service: pay, count: 1}", "max_targets: 1")
    result, journal = _run(stack, exp, tmp_path)
    out = _output(result)
    assert result.returncode == 0, out
    assert _verdict(journal)["verdict"] == "held"
    (applying,) = _events(journal, "fault.applying")
    action = applying["action"]
    assert (action["kind"], action["chaos_kind"]) == ("chaos_object", "PodChaos")
    assert action["manifest"]["spec"]["action"] == "pod-kill"
    (back,) = _events(journal, "replica.back")
    assert back["stages"]["signal"] == "pod-kill" and back["seconds"] == back["stages"]["ready"]
    run_id = journal[0]["run_id"]
    assert action["manifest"]["metadata"]["labels"][LABEL_RUN] == run_id
    assert _objects(cluster.api, run_id) == []  # deleted and gone when the run ended
    after = uids(await_ready(cluster.api, NS, "pay", 3))
    assert len(before & after) == 2
    print(f"PodChaos pod-kill → replacement Ready: {back['seconds']} s")


def test_a_ramp_of_kills_hits_the_pods_serving_at_each_step(cluster, tmp_path):
    """Step 1's pod is replaced under a new name: step 2 hits two pods serving then."""
    await_ready(cluster.api, NS, "web", 3)
    exp = _kill(tmp_path, "ramp-kill", "web", "{service: web, count: 1}", "max_percent: 67")
    text = exp.read_text().replace("blast_radius:", "ramp:\n  target: hit\n  steps: "
                                   "[{count: 1}, {count: 2}]\nblast_radius:")  # fmt: skip
    exp.write_text(text)
    result, journal = _run(cluster.api_stack, exp, tmp_path)
    out = _output(result)
    assert result.returncode == 0, out
    assert "ramp: holds at every step, up to step 2 (kill on 2 of 3 web pods)" in out, out
    one, two = (e["replicas"] for e in _events(journal, "ramp.step"))
    assert len(one) == 1 and len(two) == 2 and not set(one) & set(two)
    killed = [e["action"]["replica"] for e in _events(journal, "fault.applying")]
    assert killed[:1] == one and sorted(killed[1:]) == sorted(two)
    backs = _events(journal, "replica.back")
    assert {e["killed"] for e in backs} == set(killed)
    # two pods of one owner killed together: two replacements, never one counted twice
    assert len({e["identity"] for e in backs}) == len(backs) == 3


# -- blast radius against the live pods ------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "blast", "refusal"),
    [
        (
            "{service: web, count: 2}",
            "max_percent: 50",
            "blast radius: 2 of 3 web pods (67%) exceed max_percent=50",
        ),
        (
            "{service: web, percent: 67}",
            "max_targets: 1",
            "blast radius: 2 targets (2 of web) exceed max_targets=1",
        ),
        (
            "{service: web, count: 3}",
            "max_targets: 3",
            "blast radius: every live web pod would be hit; set allow_total_outage: true",
        ),
    ],
    ids=["count-over-percent", "percent-over-count", "total-outage"],
)
def test_a_blast_radius_the_live_pods_exceed_is_refused(cluster, tmp_path, targets, blast, refusal):
    before = uids(await_ready(cluster.api, NS, "web", 3))
    exp = _kill(tmp_path, "too-wide", "web", targets, blast)
    result, journal = _run(cluster.api_stack, exp, tmp_path)
    out = _output(result)
    assert result.returncode == 3, out
    assert refusal in out, out
    assert re.search(r"too-wide\.yaml:\d+: targets\.hit\.", out), out
    assert _verdict(journal)["verdict"] == "refused"
    assert not _events(journal, "fault.applying")
    assert _untouched(cluster.api, "web") == before  # nothing deleted


# -- a fault Chaos Mesh never injects, held by its finalizer ---------------------------


def test_a_network_chaos_never_injected_is_an_error_then_recover_once_released(
    cluster, tmp_path, monkeypatch
):
    stack = _chaos_stack(cluster)
    exp = experiment(
        tmp_path / "cm-net.yaml",
        "cm-net",
        "slow: {service: net, count: 1}",
        "- {type: latency, target: slow, latency_ms: 100, duration: 2s}",
        ready_probe("net-ready", NS, "net", ">=", 3),
        blast="max_targets: 1\nmax_duration: 30s",
    )
    result = _harness_impatient(*_args(stack, exp, tmp_path))
    journal = _journal(tmp_path)
    out = _output(result)
    print(out)
    verdict = _verdict(journal)
    assert (result.returncode, verdict["verdict"]) == (4, "error"), out
    (applying,) = _events(journal, "fault.applying")
    name = applying["action"]["name"]
    obj = f"NetworkChaos {NS}/{name}"
    never, incomplete = verdict["reasons"]
    assert never.startswith(f"{obj} was never injected within 3s"), never
    assert "cannot find daemonIP on node kwok-node-" in never  # Chaos Mesh's own words
    assert incomplete.startswith("could not remove 1 fault(s)") and obj in incomplete
    assert _events(journal, "rollback.incomplete") and not _events(journal, "rollback.complete")
    failed = _events(journal, "fault.revert_failed")[0]["error"]
    assert failed.startswith(f"rollback incomplete: {obj} is still there, held by finalizer")
    assert f"`kubectl get networkchaos -n {NS} {name} -o yaml`" in failed
    assert f"{obj} was never injected" in out and f"({failed})" in out
    run_id = journal[0]["run_id"]
    assert _objects(cluster.api, run_id) == [f"networkchaos/{name}"]

    _release(cluster.api, "networkchaos", name)  # the operator checked the pod's rules
    wait_for(lambda: not _objects(cluster.api, run_id), 15, "the released object gone")
    recovered = harness(*_recover(stack, tmp_path), timeout=60)
    assert recovered.returncode == 0, _output(recovered)
    assert _objects(cluster.api, run_id) == []
    assert not (tmp_path / "state" / "active-run.json").exists()
    again = harness(*_recover(stack, tmp_path), timeout=60)
    assert again.returncode == 0, _output(again)
    (started,) = _events(journal, "watchdog.started")  # it took the rollback over: done too
    wait_for(lambda: not _alive(started["watchdog_pid"]), 30, "the watchdog to finish")


# The harness retries a stuck revert for 30 s before it hands it to the watchdog: the
# same CLI with 3 s of patience instead (the behaviour is the same; the module stays cheap)
IMPATIENT = (
    "import sys, harness.safety.rollback as rollback; rollback.REVERT_PATIENCE = 3.0; "
    "from harness.cli.main import main; sys.argv[0] = 'harness'; main()"
)


def _harness_impatient(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", IMPATIENT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


def _recover(stack: Path, tmp: Path) -> list[str]:
    return ["recover", "--stack", str(stack), "--stack-dir", str(tmp / "state")]


def _release(api: KubeApi, plural: str, name: str) -> None:
    """What an operator does once they checked: patch the finalizer away."""
    response = api.http.patch(
        f"{CHAOS}/{NS}/{plural}/{name}",
        content='{"metadata": {"finalizers": null}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    response.raise_for_status()


# -- the harness killed mid-fault ------------------------------------------------------


def test_the_watchdog_deletes_the_runs_objects_when_the_harness_is_sigkilled(cluster, tmp_path):
    stack = _chaos_stack(cluster)
    await_ready(cluster.api, NS, "frozen", 3)
    exp = experiment(
        tmp_path / "cm-pause.yaml",
        "cm-pause",
        "one: {service: frozen, count: 1}",
        "- {type: pause, target: one, duration: 60s}",
        ready_probe("frozen-ready", NS, "frozen", ">=", 3),
        blast="max_targets: 1\nmax_duration: 90s",
    )
    proc = subprocess.Popen(
        [*HARNESS, *_args(stack, exp, tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        applied = wait_for(
            lambda: _events(_journal(tmp_path), "fault.applied"), 60, "the pause applied"
        )
        assert applied
        journal = _journal(tmp_path)
        run_id = journal[0]["run_id"]
        (applying,) = _events(journal, "fault.applying")
        assert applying["action"]["manifest"]["spec"]["action"] == "pod-failure"
        assert _objects(cluster.api, run_id) == [f"podchaos/{applying['action']['name']}"]
    finally:
        killed_at = time.monotonic()
        proc.kill()
        proc.communicate(timeout=10)
    wait_for(lambda: not _objects(cluster.api, run_id), 30, "the watchdog to delete the objects")
    print(
        f"harness SIGKILL → every object of the run deleted: {time.monotonic() - killed_at:.2f} s"
    )
    journal = _journal(tmp_path)
    (started,) = _events(journal, "watchdog.started")
    wait_for(lambda: not _alive(started["watchdog_pid"]), 30, "the watchdog to finish")
    journal = _journal(tmp_path)
    assert _events(journal, "watchdog.recovering")
    removed = _events(journal, "fault.removed")
    assert [e["by"] for e in removed] == ["watchdog"], removed
    assert not _events(journal, "verdict")  # the harness never wrote one: it was killed
    await_ready(cluster.api, NS, "frozen", 3)  # Chaos Mesh restored the pod's image


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


# -- refusals: nothing created ---------------------------------------------------------


def test_a_pod_in_a_namespace_outside_the_list_is_refused_at_its_line(cluster, tmp_path):
    before = uids(await_ready(cluster.api, NS, "web", 3))
    exp = _kill(tmp_path, "elsewhere", "web", "{replicas: [default/web-1]}", "max_targets: 1")
    result, journal = _run(cluster.api_stack, exp, tmp_path)
    out = _output(result)
    assert result.returncode == 3, out
    assert re.search(r"elsewhere\.yaml:\d+: targets\.hit\.replicas", out), out
    assert "namespace default is not in the topology's kubernetes.namespaces" in out, out
    assert not _events(journal, "fault.applying")
    assert _untouched(cluster.api, "web") == before
    # a service whose selector names such a namespace: the topology, at its line
    text = cluster.api_stack.read_text().replace(f"web: {{selector: {{namespaces: [{NS}]",
                                                 "web: {selector: {namespaces: [default]")  # fmt: skip
    stack = tmp_path / "elsewhere-stack.yaml"
    stack.write_text(text)
    result = harness(*_args(stack, exp, tmp_path / "again"), timeout=60)
    out = _output(result)
    assert result.returncode == 3, out
    assert re.search(r"elsewhere-stack\.yaml:\d+: services\.web\.selector\.namespaces\.0: "
                     r"namespace default is not in kubernetes\.namespaces", out), out  # fmt: skip
    assert _untouched(cluster.api, "web") == before


def test_a_token_without_the_role_is_refused_naming_verb_resource_and_namespace(cluster, tmp_path):
    before = uids(await_ready(cluster.api, NS, "web", 3))
    exp = _kill(tmp_path, "no-role", "web", "{service: web, count: 1}", "max_targets: 1")
    result, journal = _run(cluster.limited_stack, exp, tmp_path)
    out = _output(result)
    print(out)
    assert result.returncode == 3, out
    assert re.search(rf"\blist\b.*\bpods\b.*\b{NS}\b", out), out
    assert "Traceback" not in out
    assert not _events(journal, "fault.applying")
    assert _untouched(cluster.api, "web") == before


# -- the dry run -----------------------------------------------------------------------


def test_the_dry_run_lists_the_pods_each_fault_would_hit(cluster, tmp_path):
    pods = {f"{NS}/{p['metadata']['name']}" for p in await_ready(cluster.api, NS, "web", 3)}
    exp = _kill(tmp_path, "dry", "web", "{service: web, count: 1}", "max_targets: 1")
    result, journal = _run(cluster.api_stack, exp, tmp_path, "--dry-run")
    out = _output(result)
    print(out)
    assert result.returncode == 0, out
    named = [pod for pod in pods if pod in out]
    assert len(named) == 1, out
    assert not _events(journal, "fault.applying")
    assert {f"{NS}/{p['metadata']['name']}" for p in ready_pods(cluster.api, NS, "web")} == pods
    verdict = json.dumps(_verdict(journal))
    assert named[0] in verdict
