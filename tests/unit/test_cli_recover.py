"""`harness recover` acts through the runtime the dead run journaled (not the one `--stack`
would build): a toxic it left is removed through that runtime's Toxiproxy, and the stack's
pointer is cleared."""

from __future__ import annotations

import os
import subprocess
import sys

from harness.faults.network import ToxicOn
from harness.runtime import runtime_for
from harness.safety.journal import Journal, read_events
from harness.safety.lock import ActiveRun, read_active, write_active
from tests.fakes import FakeToxiproxy, fault_env, make_stack

LINK = "gateway_catalog-1"
TOXIC = ToxicOn(LINK, "harness-r1-f0-downstream", "latency", "downstream", 1.0, {"latency": 9})


def test_recover_removes_what_a_dead_run_left_through_its_journaled_runtime(tmp_path, children):
    fake = FakeToxiproxy()
    with fake.serve() as url:
        stack = make_stack(tmp_path / "stack", children, toxiproxy_port=int(url.rsplit(":", 1)[1]))
        for link in stack.topo.links:
            fake.add_proxy(link.name)
        runtime = runtime_for(stack.topo, stack.stack_file, stack.run.root)
        (tmp_path / "run").mkdir()
        journal = Journal.create(
            tmp_path / "run" / "journal.jsonl", "harness", run_id="r1", runtime=runtime.describe()
        )
        journal.record("fault.applying", fault_id="r1/f0/0", action=TOXIC.to_json())
        TOXIC.apply(fault_env(fake.client(), stack))
        dead = children.start()
        children.kill_and_reap(dead)
        write_active(stack.run.root, ActiveRun(str(journal.path), dead.pid, dead.start_time, ""))
        # --stack names a Toxiproxy nobody serves: only the journaled runtime reaches the fake
        elsewhere = tmp_path / "elsewhere.yaml"
        elsewhere.write_text(
            stack.stack_file.read_text().replace(f"port: {stack.topo.toxiproxy.port}", "port: 9")
        )
        done = subprocess.run(
            [sys.executable, "-m", "harness", "recover", "--stack", str(elsewhere),
             "--stack-dir", str(stack.run.root)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"reverted {TOXIC.describe()}" in done.stdout
    assert fake.all_toxics() == []
    assert read_active(stack.run.root) is None
    removed = [e["by"] for e in read_events(journal.path) if e["event"] == "fault.removed"]
    assert removed == ["harness recover"]
