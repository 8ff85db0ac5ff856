"""`harness dashboards push` and run annotations against recorded HTTP exchanges.

grafana-client sends its requests through a niquests Session; a recording adapter mounted
on that session answers like Grafana's HTTP API docs (dashboard, folder and annotation
APIs) and keeps every request: method, path, JSON body, headers and the timeout given.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import niquests
import pytest
from niquests.adapters import BaseAdapter
from niquests.structures import CaseInsensitiveDict

from harness.dashboards.annotations import Annotator
from harness.dashboards.push import GrafanaError, connect, push

URL = "http://grafana.test:3000"


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    timeout: Any


Route = Callable[[str, str, Any], tuple[int, Any]]


class Recorder(BaseAdapter):
    """Answers each request with `route(method, path, body)` and records it."""

    def __init__(self, route: Route, delay: float = 0.0) -> None:
        super().__init__()
        self.route = route
        self.delay = delay
        self.exchanges: list[Exchange] = []

    def send(self, request: Any, stream: bool = False, timeout: Any = None, **_: Any) -> Any:
        body = json.loads(request.body) if request.body else None
        path = urlsplit(request.url).path
        self.exchanges.append(Exchange(request.method, path, body, dict(request.headers), timeout))
        if self.delay:
            time.sleep(self.delay)
        status, answer = self.route(request.method, path, body)
        response = niquests.Response()
        response.status_code = status
        response._content = json.dumps(answer).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.raw = types.SimpleNamespace(_original_response=None)  # no cookies to read
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    def calls(self) -> list[tuple[str, str]]:
        return [(e.method, e.path) for e in self.exchanges]


def grafana(route: Route, delay: float = 0.0, token: str | None = "glsa_token", timeout=4.0):
    api = connect(URL, token, timeout)
    recorder = Recorder(route, delay)
    api.client.s.mount("http://", recorder)
    return api, recorder


# answers shaped like Grafana's HTTP API docs (developers/http_api/{folder,dashboard}.md)
NOT_FOUND = (404, {"message": "folder not found", "status": "not-found"})


def folder(uid: str = "chaos-harness") -> dict[str, Any]:
    return {
        "id": 7,
        "uid": uid,
        "title": "chaos-harness",
        "url": f"/dashboards/f/{uid}/chaos-harness",
        "hasAcl": False,
        "canSave": True,
        "canEdit": True,
        "canAdmin": True,
        "version": 1,
    }


def saved(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    uid = body["dashboard"]["uid"]
    slug = body["dashboard"]["title"].lower().replace(" ", "-")
    return 200, {
        "id": 3,
        "uid": uid,
        "url": f"/d/{uid}/{slug}",
        "status": "success",
        "version": 2,
        "slug": slug,
    }


BOARDS = {
    "golden-signals.json": {
        "uid": "harness-golden-signals",
        "title": "Golden signals",
        "panels": [],
    },
    "chaos.json": {"uid": "harness-chaos", "title": "Chaos", "panels": []},
}


def test_push_creates_the_folder_then_upserts_every_dashboard_with_overwrite():
    def route(method: str, path: str, body: Any) -> tuple[int, Any]:
        if (method, path) == ("GET", "/api/folders/chaos-harness"):
            return NOT_FOUND
        if (method, path) == ("POST", "/api/folders"):
            return 200, folder()
        if (method, path) == ("POST", "/api/dashboards/db"):
            return saved(body)
        raise AssertionError(f"unexpected {method} {path}")

    api, recorder = grafana(route)
    pushed = push(api, BOARDS)
    assert recorder.calls() == [
        ("GET", "/api/folders/chaos-harness"),
        ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db"),
        ("POST", "/api/dashboards/db"),
    ]
    assert recorder.exchanges[1].body == {"title": "chaos-harness", "uid": "chaos-harness"}
    first = recorder.exchanges[2].body
    assert first == {
        "dashboard": {
            "uid": "harness-golden-signals",
            "title": "Golden signals",
            "panels": [],
            "id": None,
        },
        "folderUid": "chaos-harness",
        "overwrite": True,
        "message": "harness dashboards push",
    }
    assert [p.uid for p in pushed] == ["harness-golden-signals", "harness-chaos"]
    assert pushed[1].url == "/d/harness-chaos/chaos" and pushed[1].version == 2
    for exchange in recorder.exchanges:
        assert exchange.timeout == 4.0  # every call bounded
        assert exchange.headers["Authorization"] == "Bearer glsa_token"


def test_push_reuses_an_existing_folder():
    def route(method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, folder()
        return saved(body)

    api, recorder = grafana(route)
    push(api, {"chaos.json": BOARDS["chaos.json"]})
    assert recorder.calls() == [
        ("GET", "/api/folders/chaos-harness"),
        ("POST", "/api/dashboards/db"),
    ]


def test_push_finds_a_folder_of_that_title_under_another_uid():
    def route(method: str, path: str, body: Any) -> tuple[int, Any]:
        if (method, path) == ("GET", "/api/folders/chaos-harness"):
            return NOT_FOUND
        if (method, path) == ("POST", "/api/folders"):
            return 409, {"message": "a folder with the same name already exists"}
        if (method, path) == ("GET", "/api/folders"):
            return 200, [{"id": 1, "uid": "old", "title": "other"}, folder("x1y2")]
        return saved(body)

    api, recorder = grafana(route)
    push(api, {"chaos.json": BOARDS["chaos.json"]})
    assert recorder.exchanges[-1].body["folderUid"] == "x1y2"


def test_push_turns_a_refusal_into_one_error():
    def route(method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, folder()
        return 412, {
            "message": "The dashboard has been changed by someone else",
            "status": "version-mismatch",
        }

    api, _ = grafana(route)
    with pytest.raises(GrafanaError, match="changed by someone else"):
        push(api, BOARDS)


def test_push_turns_an_unreachable_grafana_into_one_error():
    api = connect("http://127.0.0.1:9", None, timeout=2.0)
    with pytest.raises(GrafanaError, match=r"127\.0\.0\.1:9"):
        push(api, BOARDS)


def test_user_and_password_in_the_url_are_basic_auth():
    api = connect("http://admin:secret@grafana.test:3000", None)
    recorder = Recorder(lambda m, p, b: (200, folder()) if m == "GET" else saved(b))
    api.client.s.mount("http://", recorder)
    push(api, {"chaos.json": BOARDS["chaos.json"]})
    assert recorder.exchanges[0].headers["Authorization"].startswith("Basic ")


# -- annotations ------------------------------------------------------------------------


def annotator(route: Route, delay: float = 0.0) -> tuple[Annotator, Recorder]:
    api, recorder = grafana(route, delay=delay, timeout=2.0)
    return Annotator(api.annotations, timeout=2.0), recorder


def added(method: str, path: str, body: Any) -> tuple[int, Any]:
    assert (method, path) == ("POST", "/api/annotations")
    return 200, {"message": "Annotation added", "id": 1}


def test_from_env_is_none_without_grafana_url():
    assert Annotator.from_env({}) is None
    assert Annotator.from_env({"GRAFANA_URL": "  "}) is None
    made = Annotator.from_env({"GRAFANA_URL": URL, "GRAFANA_TOKEN": "t", "GRAFANA_TIMEOUT": "1.5"})
    assert isinstance(made, Annotator)


def test_from_env_with_a_bad_setting_logs_and_is_none(caplog):
    with caplog.at_level(logging.WARNING, logger="harness.dashboards.annotations"):
        assert Annotator.from_env({"GRAFANA_URL": URL, "GRAFANA_TIMEOUT": "soon"}) is None
    assert "grafana annotations off" in caplog.text


def test_a_run_posts_start_abort_and_an_end_region_tagged_chaos_experiment_verdict():
    marks, recorder = annotator(added)
    marks.fault_started("run-1", "orders-kill-one", 1700000000.0)
    marks.aborted("run-1", "orders-kill-one", 1700000004.25, reason="error ratio 0.3 > 0.05")
    marks.ended("run-1", "orders-kill-one", 1700000010.5, verdict="aborted")
    bodies = [e.body for e in recorder.exchanges]
    assert recorder.calls() == [("POST", "/api/annotations")] * 3
    assert bodies == [
        {
            "panelId": None,
            "time": 1700000000000,
            "timeEnd": None,
            "tags": ["chaos", "orders-kill-one", "fault-start"],
            "text": "orders-kill-one: fault started (run run-1)",
        },
        {
            "panelId": None,
            "time": 1700000004250,
            "timeEnd": None,
            "tags": ["chaos", "orders-kill-one", "aborted"],
            "text": "orders-kill-one: aborted: error ratio 0.3 > 0.05 (run run-1)",
        },
        {
            "panelId": None,
            "time": 1700000000000,
            "timeEnd": 1700000010500,
            "tags": ["chaos", "orders-kill-one", "aborted"],
            "text": "orders-kill-one: aborted (run run-1)",
        },
    ]
    assert all(e.timeout == 2.0 for e in recorder.exchanges)


def test_a_run_without_a_fault_ends_with_a_point():
    marks, recorder = annotator(added)
    marks.ended("run-2", "catalog-pause-one", 1700000100.0, verdict="refused")
    (only,) = recorder.exchanges
    assert (only.body["time"], only.body["timeEnd"]) == (1700000100000, None)
    assert only.body["tags"] == ["chaos", "catalog-pause-one", "refused"]


def test_a_failing_grafana_never_raises_into_the_run(caplog):
    marks, recorder = annotator(lambda m, p, b: (500, {"message": "database is locked"}))
    with caplog.at_level(logging.WARNING, logger="harness.dashboards.annotations"):
        marks.fault_started("run-3", "x", 1.0)
        marks.aborted("run-3", "x", 2.0)
        marks.ended("run-3", "x", 3.0, verdict="error")
    assert len(recorder.exchanges) == 3
    assert caplog.text.count("grafana annotation failed") == 3
    assert "database is locked" in caplog.text


def test_an_unreachable_grafana_never_raises_into_the_run(caplog):
    api = connect("http://127.0.0.1:9", None, timeout=1.0)
    marks = Annotator(api.annotations, timeout=2.0)
    with caplog.at_level(logging.WARNING, logger="harness.dashboards.annotations"):
        marks.fault_started("run-4", "x", 1.0)
        marks.ended("run-4", "x", 2.0, verdict="held")
    assert caplog.text.count("grafana annotation failed") == 2


def test_a_slow_grafana_never_delays_the_fault_loop():
    marks, recorder = annotator(added, delay=0.5)
    started = time.monotonic()
    marks.fault_started("run-5", "x", 1.0)
    marks.aborted("run-5", "x", 2.0)
    assert time.monotonic() - started < 0.2  # sent from the annotator's own thread
    assert threading.current_thread() is threading.main_thread()
    marks.ended("run-5", "x", 3.0, verdict="held")  # waits for what is on its way
    assert len(recorder.exchanges) == 3
