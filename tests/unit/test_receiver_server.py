"""The alert receiver: records each webhook with its arrival time, serves them back, keeps
history across a restart (harness/alerts/receiver.py)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.alerts.receiver import Recorder, make_server
from harness.clients.receiver import ReceiverClient
from tests.waiting import wait_for


def payload(alertname: str = "ShopHighErrorRatio", status: str = "firing") -> dict:
    """Alertmanager's webhook body (version 4), as 0.25 sends it."""
    return {
        "version": "4",
        "groupKey": '{}/{severity="page"}:' + f'{{alertname="{alertname}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "page",
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"alertname": alertname, "severity": "page"},
        "commonAnnotations": {"summary": "errors"},
        "externalURL": "http://127.0.0.1:19093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": alertname, "severity": "page", "service": "gateway"},
                "annotations": {"summary": "errors"},
                "startsAt": "2024-05-06T07:08:09.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:19090/graph",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }


@contextmanager
def running(out: Path) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, out)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        server.recorder.close()
        thread.join(5)


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "alerts" / "notifications.jsonl"


@pytest.fixture
def base(out) -> Iterator[str]:
    with running(out) as url:
        yield url


def post(base: str, receiver: str, body: object) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{base}/hooks/{receiver}", content=content, timeout=5)


def test_a_notification_is_recorded_with_its_arrival_time_and_read_back(base, out):
    before = time.time()
    assert post(base, "page", payload()).status_code == 200
    after = time.time()
    with ReceiverClient(base) as client:
        [note] = client.notifications()
    assert before <= note.received_at <= after
    assert (note.receiver, note.status) == ("page", "firing")
    assert note.group_key == '{}/{severity="page"}:{alertname="ShopHighErrorRatio"}'
    [alert] = note.alerts
    assert alert.alertname == "ShopHighErrorRatio"
    assert alert.labels["service"] == "gateway"
    assert alert.ends_at is None
    assert alert.starts_at == pytest.approx(1714979289.123457)
    [line] = out.read_text().splitlines()
    recorded = json.loads(line)
    assert recorded["received_at"] == note.received_at
    assert recorded["alerts"] == payload()["alerts"]
    assert recorded["receiver"] == "page"


def test_the_path_names_the_receiver(base):
    assert post(base, "ticket", payload()).status_code == 200  # the payload says "page"
    with ReceiverClient(base) as client:
        assert [n.receiver for n in client.notifications()] == ["ticket"]


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_refused_and_not_recorded(base, out, body):
    resp = post(base, "page", body)
    assert resp.status_code == 400
    assert "error" in resp.json()
    assert httpx.get(f"{base}/notifications", timeout=5).json() == []
    assert out.read_text() == ""


def test_unknown_paths_are_404(base):
    assert httpx.post(f"{base}/hooks/", content=b"{}", timeout=5).status_code == 404
    assert httpx.post(f"{base}/hooks/a/b", content=b"{}", timeout=5).status_code == 404
    assert httpx.get(f"{base}/nothing", timeout=5).status_code == 404


def test_ready(base):
    assert httpx.get(f"{base}/-/ready", timeout=5).status_code == 200


def test_since_keeps_only_later_arrivals(base):
    post(base, "page", payload("First"))
    with ReceiverClient(base) as client:
        [first] = client.notifications()
        wait_for(lambda: time.time() > first.received_at, 1, "the clock to move")
        cut = time.time()
        post(base, "ticket", payload("Second"))
        assert [n.alerts[0].alertname for n in client.notifications(since=cut)] == ["Second"]
        assert len(client.notifications(since=first.received_at)) == 2
        assert client.notifications(since=time.time() + 60) == []


def test_a_bad_since_is_400(base):
    assert httpx.get(f"{base}/notifications?since=yesterday", timeout=5).status_code == 400


def test_a_restart_keeps_the_history(out):
    with running(out) as base:
        post(base, "page", payload("Before"))
    with out.open("a") as f:
        f.write('{"received_at": 1, "recei')  # a line a crash cut short
    with running(out) as base:
        post(base, "ticket", payload("After"))
        with ReceiverClient(base) as client:
            names = [n.alerts[0].alertname for n in client.notifications()]
    assert names == ["Before", "After"]


def test_memory_is_bounded_and_the_file_keeps_everything(tmp_path):
    recorder = Recorder(tmp_path / "n.jsonl", limit=3)
    for i in range(5):
        recorder.record("page", {"status": "firing", "n": i}, received_at=float(i))
    recorder.close()
    assert [e["n"] for e in recorder.since()] == [2, 3, 4]
    assert len((tmp_path / "n.jsonl").read_text().splitlines()) == 5
    assert [e["n"] for e in Recorder(tmp_path / "n.jsonl", limit=2).since(0)] == [3, 4]


def test_concurrent_posts_write_whole_lines(base, out):
    def send(i: int) -> None:
        for j in range(10):
            assert post(base, f"r{i}", payload(f"A{i}-{j}")).status_code == 200

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    lines = out.read_text().splitlines()
    assert len(lines) == 80
    assert {json.loads(line)["alerts"][0]["labels"]["alertname"] for line in lines} == {
        f"A{i}-{j}" for i in range(8) for j in range(10)
    }


def test_runs_as_a_module_binds_the_given_host_and_stops_on_sigterm(tmp_path, free_port):
    out = tmp_path / "n.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.alerts.receiver", "--host", "127.0.0.1"]
        + ["--port", str(free_port), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{free_port}"
        wait_for(lambda: _ready(base), 10, "the receiver ready")
        assert post(base, "default", payload()).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert json.loads(out.read_text())["receiver"] == "default"


def _ready(base: str) -> bool:
    with ReceiverClient(base, timeout=0.5) as client:
        return client.ready()


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
