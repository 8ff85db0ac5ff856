"""Toxiproxy hop overhead with no toxics: catalog-1 through its proxy vs direct.

Needs the stack up (`harness up`). Alternates direct and proxied runs so drift hits
both; reports medians over rounds of p50/p99 at a fixed rate, their ratios, and the
wrk throughput ceiling both ways.

    .venv/bin/python bench/proxy_overhead.py [--rate 200] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import fixed_rate, median, save, wrk_ceiling
from harness.specs.topology import load_topology


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack", type=Path, default=Path("stack.yaml"))
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    topo = load_topology(args.stack)
    link = next(lk for lk in topo.links if lk.target == "catalog-1")
    urls = {
        "direct": "http://{}:{}".format(*topo.upstream(link)),
        "proxied": f"http://{topo.host}:{link.listen_port}",
    }
    runs: dict[str, list[dict]] = {k: [] for k in urls}
    for _ in range(args.rounds):
        for kind, url in urls.items():
            runs[kind].append(fixed_rate(url, "/products", args.rate, args.seconds))
    ceilings = {k: wrk_ceiling(f"{u}/products") for k, u in urls.items()}
    med = {k: {q: median([r[q] for r in v]) for q in ("p50_ms", "p99_ms")} for k, v in runs.items()}
    result = {
        "rate": args.rate,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "median": med,
        "p50_ratio": med["proxied"]["p50_ms"] / med["direct"]["p50_ms"],
        "p99_ratio": med["proxied"]["p99_ms"] / med["direct"]["p99_ms"],
        "p50_added_ms": med["proxied"]["p50_ms"] - med["direct"]["p50_ms"],
        "wrk_rps": ceilings,
        "runs": runs,
    }
    print(
        f"p50 direct {med['direct']['p50_ms']:.2f} ms, proxied {med['proxied']['p50_ms']:.2f} ms "
        f"(x{result['p50_ratio']:.2f}, +{result['p50_added_ms']:.2f} ms)"
    )
    print(
        f"p99 direct {med['direct']['p99_ms']:.2f} ms, proxied {med['proxied']['p99_ms']:.2f} ms "
        f"(x{result['p99_ratio']:.2f})"
    )
    print(f"wrk ceiling: {ceilings}")
    print(f"saved {save('proxy_overhead', result)}")


if __name__ == "__main__":
    main()
