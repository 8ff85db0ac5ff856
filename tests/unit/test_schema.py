"""`harness schema` (and `--topology`): the JSON Schema editors use accepts what the loader
accepts, and says what each field means."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness import cli
from harness.specs.experiment import NETWORK_FAULTS, PROCESS_FAULTS, Experiment, json_schema
from harness.specs.topology import json_schema as topology_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "experiments").glob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(json_schema())

# the settings each fault type needs beyond target and duration
FAULT_SETTINGS: dict[str, dict[str, object]] = {
    "latency": {"latency_ms": 100, "jitter_ms": 10},
    "bandwidth": {"rate_kb_per_s": 64},
    "slow_close": {"delay_ms": 500},
    "slicer": {"average_size": 64, "delay_us": 100},
    "limit_data": {"bytes": 1024},
}


def _minimal(fault_type: str) -> dict[str, object]:
    """A small valid experiment with one fault of `fault_type`, a route and a client probe."""
    return {
        "version": "harness/v1",
        "name": f"minimal-{fault_type}",
        "hypothesis": "the shop shrugs it off",
        "targets": {"one": {"service": "orders", "count": 1}},
        "faults": [
            {"type": fault_type, "target": "one", "duration": "5s", "start_after": 1}
            | FAULT_SETTINGS.get(fault_type, {})
        ],
        "load": {
            "rate": 5,
            "routes": [{"path": "/products/{id}", "choices": {"id": [1, 2]}}],
            "timeout": 2.5,
        },
        "steady_state": [{"name": "up", "query": "count(up == 1)", "op": ">=", "threshold": 1}],
        "guardrails": [{"name": "users", "metric": "error_ratio", "op": "<", "threshold": 0.1}],
        "blast_radius": {"max_duration": "1m", "max_targets": 1},
    }


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_experiment_validates_against_the_schema(path):
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize("fault_type", NETWORK_FAULTS + PROCESS_FAULTS)
def test_a_minimal_experiment_of_each_fault_validates_in_both(fault_type):
    data = _minimal(fault_type)
    Experiment.model_validate(data)
    assert [e.message for e in VALIDATOR.iter_errors(data)] == []


@pytest.mark.parametrize(
    ("path", "value"),
    [(("faults", 0, "duration"), "thirty"), (("faults", 0, "duration"), -1), (("name",), "Bad")],
)
def test_the_schema_rejects_what_the_loader_rejects(path, value):
    data = _minimal("kill")
    parent: object = data
    for part in path[:-1]:
        parent = parent[part]  # type: ignore[index]
    parent[path[-1]] = value  # type: ignore[index]
    assert list(VALIDATOR.iter_errors(data))


def _properties(node: object, where: str = "#"):
    """Every (location, property schema) pair anywhere in the schema."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}/properties/{name}", prop
        for key, child in node.items():
            yield from _properties(child, f"{where}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _properties(child, f"{where}/{i}")


def test_every_property_has_a_description():
    props = list(_properties(json_schema()))
    assert len(props) > 60  # every model's fields, not only the top level
    assert [where for where, prop in props if not prop.get("description")] == []


def test_the_cli_prints_the_schema(capsys):
    cli.app(["schema"], standalone_mode=False)
    assert json.loads(capsys.readouterr().out) == json_schema()


TOPOLOGIES = sorted([ROOT / "stack.yaml", *(ROOT / "examples").glob("*/stack.yaml")])


def test_the_topology_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(topology_schema())


@pytest.mark.parametrize("path", TOPOLOGIES, ids=[p.parent.name for p in TOPOLOGIES])
def test_every_shipped_topology_validates_against_its_schema(path):
    validator = jsonschema.Draft202012Validator(topology_schema())
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_the_topology_schema_rejects_what_the_loader_rejects():
    validator = jsonschema.Draft202012Validator(topology_schema())
    service = {"command": {"argv": ["x"]}, "port_base": 21200}
    assert not list(validator.iter_errors({"services": {"a": service}, "x-anchor": {"k": 1}}))
    assert list(validator.iter_errors({"services": {"a": {**service, "replica": 2}}}))
    assert list(validator.iter_errors({"services": {"a": service}, "host": "10.1.2.3"}))


def test_every_topology_property_has_a_description():
    props = list(_properties(topology_schema()))
    assert len(props) > 40  # every model's fields, not only the top level
    assert [where for where, prop in props if not prop.get("description")] == []


def test_the_cli_prints_the_topology_schema(capsys):
    cli.app(["schema", "--topology"], standalone_mode=False)
    assert json.loads(capsys.readouterr().out) == topology_schema()
