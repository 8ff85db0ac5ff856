"""A control plane that does not answer: a local stack is started with `harness up`; a
cluster is only reached, so its message names the topology to check, never `harness up`."""

from __future__ import annotations

from pathlib import Path

from harness.experiment.phases import _not_running
from tests.fakeruntime import FakeRuntime


class Cluster(FakeRuntime):
    kind = "kubernetes"

    def describe(self) -> dict[str, str]:
        return {"kind": self.kind, "stack_file": "/srv/cluster.yaml", "run_dir": "/srv/.run"}


def test_a_cluster_that_does_not_answer_names_what_to_check_not_harness_up():
    message = str(_not_running(Cluster({}), Path(".run")))
    assert message == (
        "the stack is not running: the kubernetes control plane does not answer; check that "
        "it is up and reachable as /srv/cluster.yaml names it"
    )


def test_a_local_stack_that_is_not_running_is_started_with_harness_up():
    class Local(FakeRuntime):
        kind = "local"

    message = str(_not_running(Local({}), Path(".run")))
    assert message == "the stack is not running (no ready local stack for .run): run `harness up`"
