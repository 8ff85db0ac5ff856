"""A run with secrets, on the engine's fake world: the load and the checks authenticate with
values from the environment, and no value (nor its base64) reaches any file of the run or
anything printed — even when an exception message carries a URL with the password.
A secret that does not resolve refuses the run in preflight, before anything is injected."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import harness.experiment.run as engine
from harness import secrets
from harness.cli.app import err, out
from harness.cli.display import PlainDisplay
from harness.report import write_junit
from harness.report.html import write_html
from harness.safety.journal import rendered_path
from tests.unit.engineworld import EXPERIMENT, World, assert_clean, assert_finished, names

PASSWORD = "Zq9-pw-that-must-not-leak"
API_KEY = "key-7f3e-must-not-leak"
USER = "shop"


@pytest.fixture(autouse=True)
def _env(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("SHOP_PW", PASSWORD)
    monkeypatch.setenv("SHOP_KEY", API_KEY)
    monkeypatch.setenv("SHOP_BAD_PW", "not-the-password")
    yield
    secrets.forget_all()


class _Guarded(BaseHTTPRequestHandler):
    """Writes and reads of items, behind basic auth; POSTs need the API key too."""

    def _allowed(self) -> bool:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {token}"

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._allowed() or self.headers.get("X-Api-Key") != API_KEY:
            return self._answer(401, {})
        self.server.items[body["id"]] = body  # type: ignore[attr-defined]
        self._answer(201, body)

    def do_GET(self) -> None:  # noqa: N802
        if not self._allowed():
            return self._answer(401, {})
        item = self.server.items.get(self.path.rsplit("/", 1)[1])  # type: ignore[attr-defined]
        self._answer(200 if item else 404, item or {})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    server.items = {}  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _experiment(port: int) -> dict[str, Any]:
    read_back = {"from": {"path": "/items"}, "request": {"path": "/items/{id}"}}
    return {
        "load": {
            "rate": 40,
            "target": {"url": f"http://{USER}:${{SHOP_PW}}@127.0.0.1:{port}"},
            "routes": [
                {
                    "method": "POST",
                    "path": "/items",
                    "headers": {"X-Api-Key": "${SHOP_KEY}"},
                    "json": {"id": "{uuid}", "n": "{seq}"},
                }
            ],
        },
        "expectations": {
            "recovery_within": 2,
            "checks": [
                {"name": "readable", "http": read_back},
                {
                    "name": "wrong-password",
                    "http": {
                        **read_back,
                        "basic_auth": {"username": USER, "password": "${SHOP_BAD_PW}"},
                    },
                },
            ],
        },
        "settle": 0.3,
    }


def _context(world: World, **exp: Any) -> engine.RunContext:
    ctx = world.ctx(**exp)
    ctx.source.write_text(yaml.safe_dump({**EXPERIMENT, **exp}, sort_keys=False))
    return ctx


def test_a_run_authenticates_from_the_environment_and_leaks_nothing(
    world, service, monkeypatch, capsys
):
    def budget_unreachable(ctx: engine.RunContext) -> None:  # an error that names its URL
        url = f"http://{USER}:{PASSWORD}@127.0.0.1:1/api/v1/query"
        raise httpx.ConnectError(f"cannot reach {url} with {API_KEY}")

    monkeypatch.setattr(engine, "measure_budget", budget_unreachable)
    port = service.server_address[1]
    ctx = _context(world, **_experiment(port))
    ctx.display = PlainDisplay(out, ctx.exp.name)
    outcome = engine.run_experiment(ctx)

    assert_finished(ctx, outcome, "error", 4)
    assert_clean(world, ctx)
    readable, wrong = outcome.checks
    assert (readable.status, readable.missed) == ("pass", 0) and readable.verified > 0
    assert len(service.items) >= readable.verified  # type: ignore[attr-defined]
    assert (wrong.status, wrong.missed, wrong.verified) == ("error", 0, 0)
    assert wrong.detail.startswith(
        f"check could not authenticate (HTTP 401 from http://127.0.0.1:{port}/items/"
    )
    # in memory the exception's text holds both values: every writer must redact them
    assert (
        f"error budget not measured: ConnectError: cannot reach http://shop:{PASSWORD}@"
        in outcome.reasons[-1]
    )

    write_junit(ctx.out_dir / "junit.xml", ctx.exp.name, outcome, 1.0)
    events = ctx.journal.events
    write_html(ctx.out_dir / "report.html", ctx.exp, outcome, events, ctx.prom, ctx.run_id,
               ctx.started, [])  # fmt: skip
    for line in outcome.reasons:  # as `harness run` prints them
        out.print(f"  {line}", markup=False, highlight=False)
    err.print(f"error: {outcome.reasons[-1]}", markup=False)
    printed = capsys.readouterr()

    files = {p.name: p.read_text() for p in ctx.out_dir.rglob("*") if p.is_file()}
    assert {"journal.jsonl", "journal.json", "junit.xml", "report.html"} <= set(files)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for leak in (PASSWORD, API_KEY, token):
        for name, text in {**files, "stdout": printed.out, "stderr": printed.err}.items():
            assert leak not in text, f"{leak} in {name}"
    started = json.loads(rendered_path(ctx.journal.path).read_text())["events"]
    load = next(e for e in started if e["event"] == "load.started")
    assert load["targets"][0]["url"] == f"http://shop:***@127.0.0.1:{port}"  # even the template
    assert "readable" in printed.out or "wrong-password" in printed.out


def test_a_secret_that_does_not_resolve_refuses_the_run_before_any_injection(
    world, service, monkeypatch
):
    monkeypatch.delenv("SHOP_KEY")
    ctx = _context(world, **_experiment(service.server_address[1]))
    outcome = engine.run_experiment(ctx)
    assert (outcome.verdict, outcome.exit_code) == ("refused", 3)
    (reason,) = outcome.reasons
    line = ctx.source.read_text().splitlines().index("      X-Api-Key: ${SHOP_KEY}") + 1
    assert reason == (
        f"{ctx.source}:{line}: load.routes.0.headers.X-Api-Key: ${{SHOP_KEY}}: "
        "the environment variable SHOP_KEY is not set (or empty)"
    )
    assert "fault.applying" not in names(ctx) and "load.started" not in names(ctx)
    assert PASSWORD not in Path(ctx.journal.path).read_text()
