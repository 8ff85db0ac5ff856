"""How a topology says a replica starts: `{DEP.key}` link values in env, argv and init,
an init command, `start: sequential`, liveness settings; the same values under compose."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import InvalidInput
from harness.rundir import RunDir
from harness.runtime.compose import compose_files
from harness.runtime.local.binaries import Binaries
from harness.runtime.local.components import build_components
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model
from tests.unit.test_compose_schema import _validator

ROOT = Path(__file__).resolve().parents[2]
BINS = Binaries(*(Path(f"/bin/{n}") for n in ("tp", "pg", "initdb", "prom", "am", "jaeger")))

APP = """\
version: harness/v1
postgres: {user: appuser, database: appdb, proxy_port_base: 21540}
services:
  web:
    replicas: 2
    port_base: 21100
    edge_port_base: 21080
    depends_on: [api, postgres, auth]
    start: sequential
    init:
      argv: ["{python}", "-m", "migrate", "--db", "{postgres.url}"]
      env: {MIGRATE_DSN: "{postgres.url}", API: "{api.urls}"}
      timeout: 30s
    command:
      argv: ["{python}", "-m", "web", "--port", "{port}", "--api", "{api.addresses}"]
      env:
        DATABASE_URL: "{postgres.url}"
        DB_ADDRESS: "{postgres.address}"
        DB_USER: "{postgres.user}"
        DB_NAME: "{postgres.database}"
        API_URLS: "{api.urls}"
        AUTH_URL: "{auth.url}"
      per_link:
        api: ["--upstream", "{target}={url}"]
    live_path: /live
    live_period: 500ms
    live_failures: 2
  api:
    replicas: 3
    port_base: 21200
    proxy_port_base: 21250
    command: {argv: ["{python}", "-m", "api", "--port", "{port}"]}
  auth:
    replicas: 1
    port_base: 21300
    proxy_port_base: 21350
    command: {argv: ["{python}", "-m", "auth", "--port", "{port}"]}
"""


@pytest.fixture
def topo() -> Topology:
    return parse_model(APP, "app.yaml", Topology)


def test_env_gets_each_dependencys_link_values_through_its_own_proxies(topo):
    web2 = topo.replica_named("web-2")
    assert topo.env(web2, "py") == {
        "DATABASE_URL": "postgresql://appuser@127.0.0.1:21542/appdb",  # web-2's own link
        "DB_ADDRESS": "127.0.0.1:21542",
        "DB_USER": "appuser",
        "DB_NAME": "appdb",
        "API_URLS": "http://127.0.0.1:21251,http://127.0.0.1:21252,http://127.0.0.1:21253",
        "AUTH_URL": "http://127.0.0.1:21351",
    }
    argv = topo.argv(web2, "127.0.0.1", "py")
    assert argv[:6] == ["py", "-m", "web", "--port", "21102", "--api"]
    assert argv[6] == "127.0.0.1:21251,127.0.0.1:21252,127.0.0.1:21253"
    # per_link works as it did: one flag per link, {url} http:// for every kind
    assert argv[7:] == [
        "--upstream", "api-1=http://127.0.0.1:21251",
        "--upstream", "api-2=http://127.0.0.1:21252",
        "--upstream", "api-3=http://127.0.0.1:21253",
    ]  # fmt: skip


def test_the_init_gets_replica_1s_values(topo):
    assert topo.init_argv("web", "127.0.0.1", "py") == [
        "py", "-m", "migrate", "--db", "postgresql://appuser@127.0.0.1:21541/appdb",
    ]  # fmt: skip
    env = topo.init_env("web", "py")
    assert env["MIGRATE_DSN"] == "postgresql://appuser@127.0.0.1:21541/appdb"
    assert env["API"].startswith("http://127.0.0.1:21251,")
    assert topo.services["web"].init is not None
    assert topo.services["web"].init.timeout == 30.0


def test_compose_derives_the_same_values_through_the_toxiproxy_container(topo, tmp_path):
    services = yaml.safe_load(compose_files(topo, tmp_path)["docker-compose.yml"])["services"]
    env = services["web-1"]["environment"]
    assert env["DATABASE_URL"] == "postgresql://appuser@toxiproxy:21541/appdb"
    assert env["API_URLS"].split(",") == [f"http://toxiproxy:{p}" for p in (21251, 21252, 21253)]
    init = services["web-init"]
    assert init["restart"] == "no"
    assert init["command"][-1] == "postgresql://appuser@toxiproxy:21541/appdb"
    assert services["web-1"]["depends_on"] == {
        "toxiproxy": {"condition": "service_started"},
        "jaeger": {"condition": "service_started"},
        "web-init": {"condition": "service_completed_successfully"},
    }
    # sequential: web-2 waits for web-1 to be ready, as its healthcheck judges it
    assert services["web-2"]["depends_on"]["web-1"] == {"condition": "service_healthy"}
    check = services["web-1"]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"]
    assert "('127.0.0.1', 21101)" in check[3]
    assert "healthcheck" not in services["api-1"] and services["api-1"]["depends_on"] == [
        "toxiproxy",
        "jaeger",
    ]


def test_an_init_and_sequential_replicas_make_a_valid_compose_file(topo, tmp_path):
    data = yaml.safe_load(compose_files(topo, tmp_path)["docker-compose.yml"])
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator().iter_errors(data)
    ]
    assert errors == []


def test_the_local_runtime_runs_the_init_first_and_the_replicas_one_after_another(topo, tmp_path):
    comps = {c.name: c for c in build_components(topo, RunDir(tmp_path), BINS)}
    init = comps["web-init"]
    assert (init.kind, init.port, init.timeout) == ("init", None, 30.0)
    assert init.tier == comps["web-1"].tier
    assert comps["web-1"].after == "web-init"
    assert comps["web-2"].after == "web-1"
    assert [comps[f"api-{i}"].after for i in (1, 2, 3)] == [None, None, None]
    assert comps["web-1"].env["DATABASE_URL"].endswith("@127.0.0.1:21541/appdb")
    live = comps["web-2"].live
    assert live is not None
    assert (live.url, live.period, live.failures) == ("http://127.0.0.1:21102/live", 0.5, 2)
    assert comps["api-1"].live is None


def test_parallel_replicas_all_wait_for_the_init_only(topo, tmp_path):
    parallel = parse_model(APP.replace("    start: sequential\n", ""), "app.yaml", Topology)
    comps = {c.name: c for c in build_components(parallel, RunDir(tmp_path), BINS)}
    assert comps["web-1"].after == comps["web-2"].after == "web-init"


def test_the_shops_liveness_defaults_outlast_its_longest_pause():
    """A pause fault freezes a replica, which then fails liveness: the defaults must not
    turn the shipped pause experiments into restarts."""
    topo = load_topology(ROOT / "stack.yaml")
    longest = 0.0
    for path in (ROOT / "experiments").glob("*.yaml"):
        for fault in yaml.safe_load(path.read_text()).get("faults", []):
            if fault.get("type") == "pause":
                longest = max(longest, float(str(fault["duration"]).rstrip("s")))
    assert longest > 0
    for name, svc in topo.services.items():
        if svc.live_path:
            # the first failed probe may come right after the freeze: (N - 1) periods
            assert (svc.live_failures - 1) * svc.live_period > longest, name


BAD = [
    (
        'AUTH_URL: "{auth.url}"',
        'AUTH_URL: "{cache.url}"',
        "app.yaml:22: services.web.command.env.AUTH_URL: {cache.url}: cache is not in "
        "depends_on (known: api, postgres, auth)",
    ),
    (
        'API_URLS: "{api.urls}"',
        'API_URLS: "{api.url}"',
        "app.yaml:21: services.web.command.env.API_URLS: {api.url}: api has 3 replicas, a "
        "link to each: use {api.urls} (comma-separated, in replica order)",
    ),
    (
        '"--api", "{api.addresses}"',
        '"--api", "{api.address}"',
        "app.yaml:15: services.web.command.argv.6: {api.address}: api has 3 replicas, a link "
        "to each: use {api.addresses} (comma-separated, in replica order)",
    ),
    (
        'AUTH_URL: "{auth.url}"',
        'AUTH_URL: "{auth.user}"',
        "app.yaml:22: services.web.command.env.AUTH_URL: {auth.user}: only postgres has a user",
    ),
    (
        'AUTH_URL: "{auth.url}"',
        'AUTH_URL: "{auth.host}"',
        "app.yaml:22: services.web.command.env.AUTH_URL: unknown placeholder {auth.host} (per "
        "dependency: {DEP.address} {DEP.url} {DEP.addresses} {DEP.urls} {DEP.user} "
        "{DEP.database})",
    ),
    (
        'API: "{api.urls}"',
        'API: "{apii.urls}"',
        "app.yaml:12: services.web.init.env.API: {apii.urls}: apii is not in depends_on "
        "(known: api, postgres, auth)",
    ),
    (
        'MIGRATE_DSN: "{postgres.url}"',
        'MIGRATE_DSN: "{dsn}"',
        "app.yaml:12: services.web.init.env.MIGRATE_DSN: unknown placeholder {dsn} (known: "
        "python, service, replica, index, host, port)",
    ),
    (
        "      timeout: 30s",
        "      timeout: 0s",
        "app.yaml:13: services.web.init.timeout: Input should be greater than 0",
    ),
    (
        "start: sequential",
        "start: serial",
        "app.yaml:9: services.web.start: Input should be 'parallel' or 'sequential'",
    ),
    (
        "live_failures: 2",
        "live_failures: 0",
        "app.yaml:27: services.web.live_failures: Input should be greater than or equal to 1",
    ),
    (
        "    live_path: /live\n",
        "",
        "app.yaml:25: services.web.live_period: there is no live_path to probe",
    ),
    (
        '    command: {argv: ["{python}", "-m", "auth", "--port", "{port}"]}\n',
        "    external: ['127.0.0.1:9300']\n    start: sequential\n",
        "app.yaml:38: services.auth.start: an external service is not started by the harness",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_a_bad_start_field_names_file_line_and_field(old, new, message):
    text = APP.replace(old, new, 1)
    assert text != APP
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "app.yaml", Topology)
    assert message in str(exc.value).splitlines()


def test_a_disabled_redis_has_no_link_to_name():
    text = """
version: harness/v1
redis: {enabled: false}
services:
  web:
    port_base: 21100
    depends_on: [redis]
    command: {argv: ["x"], env: {REDIS_URL: "{redis.url}"}}
"""
    with pytest.raises(InvalidInput, match=r"t.yaml:8: services.web.command.env.REDIS_URL: "
                       r"\{redis.url\}: redis is disabled"):  # fmt: skip
        parse_model(text, "t.yaml", Topology)
    enabled = parse_model(text.replace("redis: {enabled: false}\n", ""), "t.yaml", Topology)
    assert enabled.env(enabled.replica_named("web-1"), "py") == {
        "REDIS_URL": "redis://127.0.0.1:16381"
    }


def test_the_init_s_working_directory_is_resolved_like_the_commands(tmp_path):
    (tmp_path / "migrations").mkdir()
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "version: harness/v1\nservices:\n  web:\n    port_base: 21100\n"
        "    command: {argv: [x]}\n    init: {argv: [y], cwd: migrations}\n"
    )
    topo = load_topology(stack)
    init = topo.services["web"].init
    assert init is not None and init.cwd == tmp_path / "migrations"
    stack.write_text(stack.read_text().replace("cwd: migrations", "cwd: nowhere"))
    with pytest.raises(InvalidInput, match="services.web.init.cwd: .*nowhere does not exist"):
        load_topology(stack)
