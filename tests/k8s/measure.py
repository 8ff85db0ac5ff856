"""Figures of the Kubernetes test bed: how long each component takes to be ready, and a
deleted pod's replacement (deleted -> a new pod Ready), median of several.

    .venv/bin/python -m tests.k8s.measure [--kills 5] [--no-chaos-mesh]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tests.k8s.testbed import TestBed, missing_binaries
from tests.k8s.workloads import apply_deployment, await_ready, kill_and_time_replacement


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--no-chaos-mesh", action="store_true")
    args = parser.parse_args()
    chaos_mesh = not args.no_chaos_mesh
    missing = missing_binaries(chaos_mesh=chaos_mesh)
    if missing:
        print(f"not built: {', '.join(missing)} (run `make k8s`)")
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="k8sbed-") as root,
        TestBed(Path(root), chaos_mesh=chaos_mesh) as bed,
    ):
        for what, seconds in bed.timings.items():
            print(f"ready: {what:<24} {seconds:6.2f} s")
        api = bed.api()
        try:
            apply_deployment(api, "measure", "web", replicas=3)
            await_ready(api, "measure", "web", 3)
            times = [kill_and_time_replacement(api, "measure", "web", 3) for _ in range(args.kills)]
        finally:
            api.close()
    print("replacement (deleted -> new pod Ready): " + ", ".join(f"{t:.2f}" for t in times))
    print(f"median of {len(times)}: {statistics.median(times):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
