"""Verdict arithmetic and the JUnit file built from an outcome."""

import xml.etree.ElementTree as ET

from harness.outcome import Abort, Outcome, ProbeEvaluation
from harness.probes.checks import CheckResult
from harness.probes.promql import ProbeResult
from harness.report.junit import write_junit


def _probe(phase, name, status, value=0.5, t=1_800_000_000.0):
    return ProbeEvaluation(phase, ProbeResult(name, "up", ">=", 0.9, value, t, status))


def _check(name, status, detail):
    return CheckResult(name, "sql", status, 10, 10, 0, 0, (), detail, "SELECT 1", 0.0, 0.1)


def test_no_verdict_is_assumed():
    o = Outcome()
    assert (o.verdict, o.exit_code) == (None, 4)  # nothing reached: never a default "held"
    o.reach("held")
    assert (o.verdict, o.exit_code) == ("held", 0)


def test_refused_exits_3_and_outranks_deviated():
    o = Outcome()
    o.fail("deviated", "x")
    o.fail("refused", "blast radius")
    assert (o.verdict, o.exit_code) == ("refused", 3)


def test_a_refused_run_is_a_failing_junit_case(tmp_path):
    o = Outcome()
    o.fail("refused", "max_targets 1 < 2 replicas")
    path = tmp_path / "junit.xml"
    write_junit(path, "exp", o, 0.1)
    suite = ET.parse(path).getroot()
    (case,) = suite.iter("testcase")
    assert case.get("name") == "the run is allowed (preflight)"
    assert "max_targets 1 < 2 replicas" in case.find("failure").text
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["exit_code"] == "3"


def test_most_severe_verdict_wins_and_every_reason_is_kept():
    o = Outcome()
    o.reach("held")
    o.fail("deviated", "expectation failed")
    o.fail("aborted", "guardrail")
    o.fail("deviated", "not steady after")
    assert (o.verdict, o.exit_code) == ("aborted", 2)
    assert o.reasons == ["expectation failed", "guardrail", "not steady after"]


def test_not_steady_and_interrupted_exit_codes():
    o = Outcome()
    o.fail("not steady", "no data")
    assert o.exit_code == 1
    o.fail("interrupted", "SIGINT")
    assert o.exit_code == 4


def test_junit_cases_carry_evidence(tmp_path):
    o = Outcome()
    o.probes = [
        _probe("before", "avail", "no data", value=None),
        _probe("before", "avail", "pass", value=1.0),  # polled until it held: passes
        _probe("guardrail", "errors", "pass"),
        _probe("guardrail", "errors", "fail", value=0.4),
        _probe("after", "avail", "pass", value=1.0),
    ]
    o.figures.record_recovery(3.5)
    o.checks = [_check("acknowledged-writes-persisted", "pass", "10 writes")]
    o.fail("aborted", "guardrail breached")
    o.abort = Abort(0, "guardrail breached")
    path = tmp_path / "junit.xml"
    write_junit(path, "exp", o, 12.0)
    suite = ET.parse(path).getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert suite.get("tests") == str(len(cases)) == "6"
    assert suite.get("failures") == "2"
    assert cases[("exp.steady state before", "avail")].find("failure") is None
    failure = cases[("exp.guardrail", "errors")].find("failure")
    assert failure is not None
    assert "value 0.4 >= threshold 0.9" in failure.text and "query: up" in failure.text
    assert "1 of 2 evaluations failed" in failure.text
    assert cases[("exp.run", "no guardrail breach")].find("failure") is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"verdict": "aborted", "exit_code": "2"}
