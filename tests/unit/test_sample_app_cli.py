"""The process contract: flags, knobs from flags or environment, upstream parsing."""

from __future__ import annotations

import argparse

import pytest

from sample_app.cli import parse_options
from sample_app.config import Settings, add_settings_arguments, settings_from_args
from sample_app.gateway.upstreams import group_by_dependency, parse_upstream

GATEWAY = [
    "--service", "gateway", "--replica", "gateway-1", "--host", "127.0.0.1", "--port", "18101",
    "--upstream", "catalog-1=http://127.0.0.1:18251",
    "--upstream", "orders-2=http://127.0.0.1:18352",
]  # fmt: skip


def test_the_launchers_gateway_command_line_parses():
    opts = parse_options(GATEWAY)
    assert (opts.service, opts.replica, opts.host, opts.port) == (
        "gateway", "gateway-1", "127.0.0.1", 18101,
    )  # fmt: skip
    assert opts.upstreams == ["catalog-1=http://127.0.0.1:18251", "orders-2=http://127.0.0.1:18352"]
    assert opts.settings == Settings()


def test_orders_needs_a_database_url(capsys):
    with pytest.raises(SystemExit):
        parse_options(["--service", "orders", "--port", "1"])
    assert "--database-url" in capsys.readouterr().err
    opts = parse_options(
        ["--service", "orders", "--replica", "orders-2", "--port", "18302",
         "--database-url", "postgresql://shop@127.0.0.1:15442/shop"]
    )  # fmt: skip
    assert opts.database_url.endswith(":15442/shop")


def knobs(argv: list[str], env: dict[str, str]) -> Settings:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    return settings_from_args(parser.parse_args(argv), env)


def test_knobs_come_from_flags_then_environment_then_defaults():
    env = {"SAMPLE_APP_DEADLINE_MS": "1500", "SAMPLE_APP_BREAKER_RATIO": "0.25"}
    settings = knobs(["--deadline-ms", "900", "--retry-attempts", "2"], env)
    assert settings.deadline_ms == 900  # the flag wins
    assert settings.breaker_ratio == 0.25  # from the environment
    assert settings.retry_attempts == 2
    assert settings.bulkhead_limit == Settings().bulkhead_limit
    assert settings.seconds("deadline") == 0.9


def test_a_bad_knob_in_the_environment_is_one_clear_error():
    with pytest.raises(SystemExit, match="SAMPLE_APP_MAX_IN_FLIGHT"):
        knobs([], {"SAMPLE_APP_MAX_IN_FLIGHT": "lots"})


def test_upstream_service_is_the_replica_name_minus_its_index():
    assert parse_upstream("orders-3=http://127.0.0.1:18353/").dependency == "orders"
    assert parse_upstream("orders-3=http://127.0.0.1:18353/").url == "http://127.0.0.1:18353"


@pytest.mark.parametrize(
    "flag", ["orders=http://x:1", "orders-1", "orders-1=ftp://x", "payments-1=http://x:1"]
)
def test_bad_upstream_flags_are_refused(flag):
    with pytest.raises(ValueError):
        parse_upstream(flag)


def test_every_dependency_needs_an_upstream_and_names_are_unique():
    with pytest.raises(ValueError, match="orders"):
        group_by_dependency([parse_upstream("catalog-1=http://x:1")])
    with pytest.raises(ValueError, match="twice"):
        group_by_dependency([parse_upstream("catalog-1=http://x:1")] * 2)
