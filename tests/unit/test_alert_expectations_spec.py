"""`expectations.alerts` and `expectations.no_alerts` in experiment files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidInput
from harness.specs.experiment import Experiment, Probe
from harness.specs.yamlload import parse_model
from tests.fakes import example_without_no_alerts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = example_without_no_alerts()


def parse(expectations: str) -> Experiment:
    text = EXAMPLE.replace("expectations:\n", "expectations:\n" + expectations, 1)
    assert text != EXAMPLE
    return parse_model(text, "exp.yaml", Experiment)


def test_alerts_and_no_alerts_parse() -> None:
    exp = parse(
        "  alerts:\n"
        "    - {alert: ShopHighErrorRatio, labels: {service: gateway}, fires_within: 45s,"
        " receiver: page, resolves_within: 2m}\n"
        "  no_alerts:\n"
        "    - {labels: {severity: page}}\n"
        "    - {alert: ShopHighLatencyP99, when: run}\n"
    )
    [alert] = exp.expectations.alerts
    assert (alert.fires_within, alert.resolves_within, alert.notify_deadline) == (45, 120, 60)
    assert alert.matchers() == (
        'ALERTS{alertname="ShopHighErrorRatio",alertstate="firing",service="gateway"}'
    )
    before = [p.name for p in exp.steady_probes("before", 1.0)]
    after = [p.name for p in exp.steady_probes("after", 1.0)]
    assert before[-2:] == ["no-any-alert-page", "no-shophighlatencyp99"]
    assert after[-1] == "no-shophighlatencyp99" and "no-any-alert-page" not in after
    quiet = exp.during_probes(1.0)[-1]
    assert isinstance(quiet, Probe)
    assert quiet.query == (
        'count(timestamp(ALERTS{alertname="ShopHighLatencyP99",alertstate="firing"}) > time() - 5)'
        " or vector(0)"
    )
    assert (quiet.op, quiet.threshold) == ("==", 0)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("  alerts:\n    - {alert: 'bad name', fires_within: 1m}\n", "alert"),
        ("  alerts:\n    - {alert: A}\n", "fires_within"),
        ("  alerts:\n    - {alert: A, fires_within: 0}\n", "fires_within"),
        ("  alerts:\n    - {alert: A, fires_within: 1m, share: 2}\n", "share"),
        ("  alerts:\n    - {alert: A, fires_within: 1m, labels: {alertname: B}}\n", "use `alert`"),
        ("  alerts:\n    - {alert: A, fires_within: 1m, receiver: Page!}\n", "receiver"),
        (
            "  alerts:\n    - {alert: A, fires_within: 1m}\n    - {alert: A, fires_within: 2m}\n",
            "expected twice",
        ),
        (
            "  alerts:\n    - {alert: A, fires_within: 1m}\n  no_alerts:\n    - {when: run}\n",
            "cannot forbid every alert",
        ),
        ("  no_alerts:\n    - {alert: A, when: always}\n", "when"),
    ],
)
def test_mistakes_are_located(block: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(block)
    text = str(caught.value)
    assert "exp.yaml:" in text and message in text, text
