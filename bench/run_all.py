"""Every benchmark in turn, against the stack that `harness up` started (`make bench`).

Results land in bench/results/*.json; bench/README.md says what each one measures.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = [
    ["bench.proxy_overhead"],
    ["bench.latency_accuracy"],
    ["bench.instrumentation_overhead"],
    ["bench.rollback_latency", "--runs", "10"],
    ["bench.suite_walltime"],
    ["bench.load_generator"],
    ["bench.crash_recovery", "--runs", "20"],  # brings up its own stack (ports -7000)
    ["bench.alert_detection", "--runs", "5"],
    ["bench.cpu_stress", "--runs", "5", "--stack", "stack.yaml"],
    ["bench.ramp", "--runs", "5", "--stack", "stack.yaml"],
    ["bench.k8s_faults", "--runs", "5"],  # its own Kubernetes test bed (needs `make k8s`)
    ["bench.k8s_scale", "--repeat", "5"],  # the same, with 100 then 1,000 kwok pods
]


def main() -> int:
    failed = []
    for bench in BENCHES:
        print(f"== {' '.join(bench)}", flush=True)
        start = time.monotonic()
        code = subprocess.run([sys.executable, "-m", *bench], check=False).returncode
        print(f"== {bench[0]}: exit {code} in {time.monotonic() - start:.0f}s", flush=True)
        if code != 0:
            failed.append(bench[0])
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
