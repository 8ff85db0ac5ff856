"""docker-compose.yml against the Compose Specification's own JSON Schema.

No Docker engine runs here; the schema (vendored in tests/schemas/, see its README) is
what `docker compose` itself checks a file against before anything else.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from harness.runtime.compose import compose_files
from harness.specs.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft201909Validator  # the draft the schema names
    cls.check_schema(schema)
    return cls(schema)


def _compose(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def test_committed_docker_compose_yml_follows_the_compose_specification():
    errors = list(_validator().iter_errors(_compose((ROOT / "docker-compose.yml").read_text())))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_any_topology_gives_a_valid_compose_file():
    topo = load_topology(ROOT / "examples" / "httpbin" / "stack.yaml")
    text = compose_files(topo, ROOT / "examples" / "httpbin")["docker-compose.yml"]
    assert list(_validator().iter_errors(_compose(text))) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "grafana", "ports"), "127.0.0.1:3000:3000"),  # a string, not a list
        (("services", "jaeger", "depends_on"), 42),
        (("services", "grafana", "volumes", 0), {"source": "./x"}),  # a long form needs type
        (("services", "prometheus", "restrat"), "always"),  # unknown key
    ],
)
def test_the_schema_refuses_a_broken_file(path: tuple[Any, ...], value: Any):
    data = copy.deepcopy(_compose((ROOT / "docker-compose.yml").read_text()))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert list(_validator().iter_errors(data)), f"{path} = {value!r} passed the schema"
