"""Command line of one service process: `python -m sample_app --service ... --port ...`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass

from sample_app.config import Settings, add_settings_arguments, settings_from_args

__all__ = ["SERVICES", "Options", "parse_options"]

SERVICES = ("gateway", "catalog", "orders")


@dataclass(frozen=True)
class Options:
    service: str
    replica: str
    host: str
    port: int
    upstreams: list[str]
    database_url: str | None
    redis_url: str | None
    log_level: str
    settings: Settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sample_app", description=__doc__)
    p.add_argument("--service", required=True, choices=SERVICES)
    p.add_argument("--replica", help="replica name, e.g. orders-2 (default <service>-1)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument(
        "--upstream", action="append", default=[], metavar="NAME-N=URL",
        help="gateway: one replica of a dependency, e.g. catalog-1=http://127.0.0.1:18251",
    )  # fmt: skip
    p.add_argument(
        "--database-url", default=os.environ.get("SAMPLE_APP_DATABASE_URL"),
        help="orders: libpq URL (or SAMPLE_APP_DATABASE_URL)",
    )  # fmt: skip
    p.add_argument(
        "--redis", default=os.environ.get("SAMPLE_APP_REDIS_URL"), metavar="URL",
        help="catalog: a Redis to cache reads in, e.g. redis://127.0.0.1:16381/0 (none: no cache)",
    )  # fmt: skip
    p.add_argument("--log-level", default=os.environ.get("SAMPLE_APP_LOG_LEVEL", "INFO"))
    add_settings_arguments(p)
    return p


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.service == "orders" and not args.database_url:
        parser.error("orders needs --database-url")
    if args.service == "gateway" and not args.upstream:
        parser.error("the gateway needs --upstream flags")
    return Options(
        service=args.service,
        replica=args.replica or f"{args.service}-1",
        host=args.host,
        port=args.port,
        upstreams=args.upstream,
        database_url=args.database_url,
        redis_url=args.redis,
        log_level=args.log_level,
        settings=settings_from_args(args),
    )
