"""Send a few requests through the running stack and show where to look.

Run by `make demo` after `harness up` (until the experiment suite takes its place).
"""

from __future__ import annotations

import secrets
import sys
import uuid
from pathlib import Path

import httpx

from harness.runtime.local.state import read_state

RUN_DIR = Path(".run")


def main() -> int:
    state = read_state(RUN_DIR / "state.json")
    if state is None or state.phase != "ready":
        print("the stack is not up: run `harness up` first", file=sys.stderr)
        return 1
    shop = next(u for k, u in state.urls.items() if k.endswith("(entry)"))
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    with httpx.Client(base_url=shop, timeout=10, headers=headers) as http:
        products = http.get("/products").json()["products"]
        print(f"GET  /products            -> {len(products)} products")
        pid = products[0]["id"]
        print(f"GET  /products/{pid:<10} -> {http.get(f'/products/{pid}').status_code}")
        key = str(uuid.uuid4())
        body = {"product_id": pid, "quantity": 2}
        created = http.post("/orders", json=body, headers={"Idempotency-Key": key})
        replay = http.post("/orders", json=body, headers={"Idempotency-Key": key})
        order_id = created.json()["id"]
        print(f"POST /orders              -> {created.status_code} order {order_id}")
        print(f"POST /orders (same key)   -> {replay.status_code} order {replay.json()['id']} (replayed)")
        print(f"GET  /orders/{{id}}         -> {http.get(f'/orders/{order_id}').status_code}")
    logs = Path(state.run_dir) / "logs"
    print()
    print(f"trace id of these requests: {trace_id}")
    print(f"  grep {trace_id} {logs}/gateway-1.log {logs}/orders-*.log")
    print(f"logs:        {logs}/<component>.log (JSON, one object per line)")
    print("metrics:     every replica serves /metrics (Prometheus scrapes them each second):")
    for comp in state.components:
        if comp.kind == "app":
            print(f"             http://127.0.0.1:{comp.port}/metrics  ({comp.name})")
    print(f"prometheus:  {state.urls['prometheus']}/graph?g0.expr=service:http_server_requests:rate1m")
    print(f"alertmanager:{state.urls['alertmanager']}")
    print(f"toxiproxy:   {state.urls['toxiproxy']}/proxies")
    print("stop it all: harness down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
