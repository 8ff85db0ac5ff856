"""Entry point: one service replica per process, one uvicorn worker, JSON logs on stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI
from opentelemetry import trace
from prometheus_client import disable_created_metrics

from sample_app.cli import Options, parse_options
from sample_app.observability.logs import setup_logging
from sample_app.observability.tracing import make_tracer_provider
from sample_app.web.app import ServiceContext


def build_app(opts: Options) -> FastAPI:
    """The app for `opts.service`; imports only what that service needs."""
    provider = make_tracer_provider(opts.service, opts.replica)
    trace.set_tracer_provider(provider)
    ctx = ServiceContext(opts.service, opts.replica, opts.settings, tracer_provider=provider)
    if opts.service == "catalog":
        from sample_app.catalog.app import build_catalog_app

        return build_catalog_app(ctx, opts.redis_url)
    if opts.service == "orders":
        from sample_app.orders.app import build_orders_app

        assert opts.database_url is not None
        return build_orders_app(ctx, opts.database_url)
    from sample_app.gateway.app import build_gateway_app

    return build_gateway_app(ctx, opts.upstreams)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    # we correlate logs ourselves; never let OTel attach a log handler
    os.environ.setdefault("OTEL_PYTHON_LOG_AUTO_INSTRUMENTATION", "false")
    setup_logging(opts.service, opts.replica, opts.log_level)
    disable_created_metrics()  # `_created` series double the series count for nothing
    try:
        app = build_app(opts)
    except ValueError as exc:  # a bad --upstream flag, say: one line, not a traceback
        print(f"sample_app: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=opts.host,
        port=opts.port,
        workers=1,
        log_config=None,  # keep our JSON handler
        access_log=False,  # AccessMiddleware writes one line per request
        timeout_keep_alive=15,  # longer than clients' keep-alive, so they close first
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
