"""Real Alertmanager with the generated config delivers to the real receiver, by severity,
firing and then resolved, and the receiver records when each notification arrived.

No stack: Alertmanager and the receiver alone, on free loopback ports, state in tmp dirs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from harness.clients.receiver import Notification, ReceiverClient
from harness.runtime import promconfig
from harness.runtime.local.binaries import find_alertmanager
from harness.specs.topology import load_topology
from tests.integration.stackfixture import ROOT
from tests.waiting import wait_for

DEADLINE = 20.0  # group_wait 1s + group_interval 1s; generous for a loaded CI machine
HOST = "127.0.0.1"


@dataclass
class Delivery:
    alertmanager: str
    receiver: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Iterator[Delivery]:
    tmp = tmp_path_factory.mktemp("alert-delivery")
    am_port, rx_port = _free_port(), _free_port()
    shop = load_topology(ROOT / "stack.yaml")
    ports = {"port": am_port, "receiver_port": rx_port}
    topo = shop.model_copy(update={"alertmanager": shop.alertmanager.model_copy(update=ports)})
    config = tmp / "alertmanager.yml"
    config.write_text(promconfig.render(promconfig.alertmanager_config(topo)))
    procs = [
        _spawn(
            [sys.executable, "-m", "harness.alerts.receiver", "--host", HOST]
            + ["--port", str(rx_port), "--out", str(tmp / "alerts" / "notifications.jsonl")],
            tmp / "alert-receiver.log",
        )
    ]
    try:
        procs.append(
            _spawn(
                [
                    str(find_alertmanager()),
                    f"--config.file={config}",
                    f"--storage.path={tmp / 'data'}",
                    f"--web.listen-address={HOST}:{am_port}",
                    "--cluster.listen-address=",
                ],
                tmp / "alertmanager.log",
            )
        )
        running = Delivery(f"http://{HOST}:{am_port}", f"http://{HOST}:{rx_port}")
        for url in (running.receiver, running.alertmanager):
            wait_for(lambda u=url: _ready(u), 30, f"{url} ready")
        yield running
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _post(am: str, alerts: list[dict]) -> float:
    sent = time.time()
    resp = httpx.post(f"{am}/api/v2/alerts", json=alerts, timeout=5)
    assert resp.status_code == 200, resp.text
    return sent


def _arrived(rx: str, receiver: str, alertname: str, status: str, since: float) -> Notification:
    def find() -> Notification | None:
        with ReceiverClient(rx) as client:
            for note in client.notifications(since=since):
                names = {a.alertname for a in note.alerts if a.status == status}
                if note.receiver == receiver and alertname in names:
                    return note
        return None

    return wait_for(find, DEADLINE, f"{alertname} {status} at {receiver}", interval=0.05)


def test_page_and_ticket_alerts_reach_their_receivers_firing_then_resolved(delivery):
    run = uuid.uuid4().hex[:8]
    started = time.time()
    alerts = [
        {
            "labels": {"alertname": f"Delivery{sev.title()}{run}", "severity": sev},
            "annotations": {"summary": f"a {sev} alert from the delivery test"},
            "startsAt": _rfc3339(started),
        }
        for sev in ("page", "ticket")
    ]
    sent = _post(delivery.alertmanager, alerts)
    latencies = {}
    for sev in ("page", "ticket"):
        name = f"Delivery{sev.title()}{run}"
        note = _arrived(delivery.receiver, sev, name, "firing", sent)
        [alert] = [a for a in note.alerts if a.alertname == name]
        assert alert.labels["severity"] == sev
        assert alert.starts_at == pytest.approx(started, abs=0.001)
        assert alert.ends_at is None
        latencies[f"{sev} firing"] = note.received_at - sent

    past = time.time() - 1
    resolved = _post(delivery.alertmanager, [{**a, "endsAt": _rfc3339(past)} for a in alerts])
    for sev in ("page", "ticket"):
        name = f"Delivery{sev.title()}{run}"
        note = _arrived(delivery.receiver, sev, name, "resolved", resolved)
        [alert] = [a for a in note.alerts if a.alertname == name]
        assert alert.ends_at == pytest.approx(past, abs=0.001)
        latencies[f"{sev} resolved"] = note.received_at - resolved

    print("arrival latency (POST to Alertmanager → received_at):")
    for what, seconds in latencies.items():
        print(f"  {what:<16} {seconds:.3f}s")
    # group_wait 1s for a new group, group_interval 1s for its resolution
    assert all(0 < s < 5 for s in latencies.values()), latencies
