"""Injected-latency accuracy: measured Δp50 through a proxy vs the configured latency.

A latency toxic (downstream, no jitter) on the catalog-1 link, requests straight to
that proxy at a fixed rate; Δp50 against the same link without the toxic.

    .venv/bin/python -m bench.latency_accuracy [--latencies 50,100,200,400]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import fixed_rate, save
from harness.clients.toxiproxy import Toxic, ToxiproxyClient
from harness.specs.topology import load_topology


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack", type=Path, default=Path("stack.yaml"))
    ap.add_argument("--latencies", default="50,100,200,400")
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=8)
    args = ap.parse_args()
    topo = load_topology(args.stack)
    link = next(lk for lk in topo.links if lk.target == "catalog-1")
    url = f"http://{topo.host}:{link.listen_port}"
    base = fixed_rate(url, "/products", args.rate, args.seconds)["p50_ms"]
    rows = []
    with ToxiproxyClient(f"http://{topo.host}:{topo.toxiproxy.port}") as tp:
        for ms in (int(x) for x in args.latencies.split(",")):
            tp.add_toxic(
                link.name,
                Toxic(
                    name="bench-latency", type="latency", attributes={"latency": ms, "jitter": 0}
                ),
            )
            try:
                p50 = fixed_rate(url, "/products", args.rate, args.seconds)["p50_ms"]
            finally:
                tp.remove_toxic(link.name, "bench-latency")
            delta = p50 - base
            rows.append(
                {
                    "configured_ms": ms,
                    "p50_ms": p50,
                    "delta_p50_ms": round(delta, 3),
                    "error_ms": round(delta - ms, 3),
                    "ratio": round(delta / ms, 4),
                }
            )
            print(
                f"configured {ms:>4} ms: Δp50 {delta:7.2f} ms (error {delta - ms:+.2f} ms)",
                flush=True,
            )
    print(f"saved {save('latency_accuracy', {'baseline_p50_ms': base, 'rows': rows})}")


if __name__ == "__main__":
    main()
