"""Client-side probes: judged on the load generator's records, never passing on no data."""

import pytest

from harness.errors import InvalidInput
from harness.load.generator import Record
from harness.probes.client import evaluate_client
from harness.specs.experiment import ClientProbe, Experiment
from harness.specs.yamlload import parse_model
from tests.unit.test_spec_and_plan import EXAMPLE


def _records(ok: int, failed: int, latency: float = 0.01) -> list[Record]:
    good = [Record("POST /orders", 0.0, latency, 201) for _ in range(ok)]
    bad = [Record("POST /orders", 0.0, latency, 0, "ConnectError") for _ in range(failed)]
    return good + bad


def _probe(metric="error_ratio", op="<", threshold=0.1):
    return ClientProbe(name="users", metric=metric, op=op, threshold=threshold)


def test_error_ratio_counts_failures_and_unanswered_requests():
    result = evaluate_client(_probe(), _records(ok=8, failed=2))
    assert (result.status, result.value) == ("fail", 0.2)
    assert result.query == "client error_ratio over the last 2s"
    assert evaluate_client(_probe(), _records(ok=10, failed=0)).status == "pass"


def test_no_request_in_the_window_is_no_data():
    result = evaluate_client(_probe(), [])
    assert (result.status, result.value, result.ok) == ("no data", None, False)


def test_latency_quantiles():
    records = [Record("GET /", 0.0, i / 100, 200) for i in range(1, 101)]
    assert evaluate_client(_probe("p99_seconds", "<=", 1.0), records).value == 1.0
    assert evaluate_client(_probe("p50_seconds", "<=", 1.0), records).value == 0.51


def test_guardrails_mix_promql_and_client_probes():
    text = EXAMPLE.read_text().replace(
        "guardrails:\n",
        "guardrails:\n  - {name: users, metric: error_ratio, window: 1s, op: '<', threshold: 0.1}\n",
        1,
    )
    exp = parse_model(text, "exp.yaml", Experiment)
    assert [type(g).__name__ for g in exp.guardrails] == ["ClientProbe", "Probe"]


def test_client_probe_errors_name_the_line_and_field():
    text = EXAMPLE.read_text().replace(
        "guardrails:\n",
        "guardrails:\n  - {name: users, metric: errors, op: '<', threshold: 0.1}\n",
        1,
    )
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment)
    assert [str(i) for i in exc.value.issues] == [
        "exp.yaml:44: guardrails.0.metric: Input should be 'error_ratio', 'p99_seconds' or 'p50_seconds'"
    ]


def test_client_probes_need_load():
    text = EXAMPLE.read_text().replace(
        "guardrails:\n",
        "guardrails:\n  - {name: users, metric: error_ratio, op: '<', threshold: 0.1}\n",
        1,
    )
    text = text.split("load:")[0] + "steady_state:" + text.split("steady_state:")[1]
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "exp.yaml", Experiment)
    assert str(exc.value).endswith("load: client probes (users) need load")
