"""Where a service's golden signals come from: a metric convention, PromQL of its own, or none.

The report, the dashboards and the trace table never name a service's metrics
themselves: they ask a service's `GoldenSignals` for its request rate, error rate,
latency histogram and saturation, and say in one line what it does not have. A
topology declares per service

    signals: {convention: opentelemetry}

or its own PromQL, one template per signal, each a per-series expression (no
aggregation: the harness sums it by what it plots) with two placeholders, `{selector}`
(the label matchers of the service, or of one replica, written inside the braces of a
selector) and `{window}` (the rate window):

    signals:
      requests: 'rate(kinto_requests_total{{selector}}[{window}])'
      errors: 'rate(kinto_requests_total{{selector}, code=~"5.."}[{window}])'
      latency: 'rate(kinto_request_seconds_bucket{{selector}}[{window}])'

Without `signals:`, a service Prometheus scrapes (`metrics_path`) follows the
`harness` convention (the metric names of DESIGN, "Names and conventions", which the
sample shop exports) and one it does not scrape has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import promql_parser
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.specs.yamlload import FieldError

if TYPE_CHECKING:
    from harness.specs.topology import Topology

__all__ = [
    "CONVENTIONS",
    "SIGNALS",
    "GoldenSignals",
    "Signals",
    "golden_signals",
    "of_service",
    "proxies_into",
    "proxy_bytes",
]

Convention = Literal["harness", "opentelemetry", "none"]
SIGNALS = ("requests", "errors", "latency", "saturation")
_NAMES = {
    "requests": "request rate",
    "errors": "error rate",
    "latency": "latency histogram",
    "saturation": "saturation gauge",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TEMPLATE = (
    "PromQL of one series per target (no aggregation; the harness sums it), with "
    "{selector} inside a selector's braces and {window} as the rate window"
)


class Signals(BaseModel):
    """Where a service's request rate, errors, latency and saturation come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    convention: Convention | None = Field(
        None,
        description=(
            "the metric names the service exports: `harness` (http_server_requests_total and "
            "http_server_request_duration_seconds with code, route, method and its own "
            "`service` label), `opentelemetry` (OTel HTTP semantic conventions through a "
            "Prometheus exporter: http_server_request_duration_seconds_{bucket,count,sum} "
            "with http_response_status_code, http_route, http_request_method), or `none` "
            "(no metrics: the report shows the bytes through its Toxiproxy proxies). "
            "Omitted with templates given: only those templates"
        ),
    )
    requests: str | None = Field(
        None, description=f"requests per second: {_TEMPLATE}; overrides the convention's"
    )
    errors: str | None = Field(
        None,
        description=f"failed requests per second (5xx): {_TEMPLATE}; overrides the convention's",
    )
    latency: str | None = Field(
        None,
        description=(
            "the rate of a latency histogram's buckets, in seconds, keeping `le`: "
            f"{_TEMPLATE}; overrides the convention's"
        ),
    )
    saturation: str | None = Field(
        None,
        description=(
            "a gauge of how full the service is (requests in flight), with {selector}; "
            "overrides the convention's"
        ),
    )
    route_label: str | None = Field(
        None, description="the label naming a request's route, for per-route panels"
    )
    code_label: str | None = Field(
        None, description="the label holding a request's HTTP status code"
    )

    @model_validator(mode="after")
    def _check(self) -> Signals:
        given = [s for s in SIGNALS if getattr(self, s) is not None]
        if self.convention == "none" and given:
            raise FieldError(
                (given[0],), "convention `none` says the service has no metrics: drop it"
            )
        if self.convention is None and not given:
            raise FieldError((), "give a `convention` or at least one signal's PromQL")
        for name in given:
            _check_template(name, getattr(self, name))
        return self


def _check_template(name: str, text: str) -> None:
    needed = {"selector"} if name == "saturation" else {"selector", "window"}
    found = set(_PLACEHOLDER.findall(text))
    unknown = sorted(found - {"selector", "window"})
    if unknown:
        raise FieldError((name,), f"unknown placeholder {{{unknown[0]}}} (known: selector, window)")
    missing = sorted(needed - found)
    if missing:
        raise FieldError((name,), f"no {{{missing[0]}}}: {_TEMPLATE}")
    try:
        promql_parser.parse(_fill(text, 'job="x"', "1m"))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 — the parser's Rust panics are BaseExceptions
        raise FieldError((name,), f"not PromQL: {' '.join(str(exc).split())}") from None


def _fill(template: str, selector: str, window: str) -> str:
    values = {"selector": selector, "window": window}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class GoldenSignals:
    """A service's golden signals, resolved: a template per signal it has, None for one it
    has not, the label its series are selected by, and where all this came from."""

    service: str
    source: str  # "the opentelemetry convention", "its own PromQL", "no metrics"
    label: str = "job"  # the label naming the service: the scrape job's, or its own
    requests: str | None = None
    errors: str | None = None
    latency: str | None = None
    saturation: str | None = None
    route_label: str | None = None
    code_label: str | None = None
    shed: str | None = None  # requests refused by a load shedder (the harness convention)
    # the histogram a caller reports its calls in (labels dependency, upstream, outcome)
    calls: str | None = None
    assumed: bool = False  # no `signals:` declared: the default for a scraped service

    def selector(self, replica: str | None = None) -> str:
        """The matchers of the service's series (of one replica's, or a `=~` regex)."""
        sel = f'{self.label}="{self.service}"'
        if replica is None:
            return sel
        return f'{sel}, replica=~"{replica}"' if "|" in replica else f'{sel}, replica="{replica}"'

    def query(self, signal: str, selector: str, window: str) -> str | None:
        """The signal's per-series PromQL, or None when the service has no such signal."""
        template = self.shed if signal == "shed" else getattr(self, signal)
        return None if template is None else _fill(template, selector, window)

    def missing(self) -> list[str]:
        """The golden signals (`saturation` aside) the service does not have."""
        return [s for s in SIGNALS[:3] if getattr(self, s) is None]

    def absent_line(self, missing: list[str] | None = None) -> str:
        """One line saying what the service does not have (of `missing`, by default every
        golden signal it lacks), "" when it has them all."""
        missing = self.missing() if missing is None else missing
        if not missing:
            return ""
        if self.source == "no metrics":
            return f"{self.service} exports no metrics of its own"
        return f"{self.service} declares no {_join([_NAMES[m] for m in missing])}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


CONVENTIONS: dict[str, GoldenSignals] = {
    "harness": GoldenSignals(
        service="",
        source="the harness convention",
        label="service",
        requests="rate(http_server_requests_total{{selector}}[{window}])",
        errors='rate(http_server_requests_total{{selector}, code=~"5.."}[{window}])',
        latency="rate(http_server_request_duration_seconds_bucket{{selector}}[{window}])",
        saturation="http_server_requests_in_flight{{selector}}",
        route_label="route",
        code_label="code",
        shed="rate(requests_shed_total{{selector}}[{window}])",
        calls="dependency_request_duration_seconds",
    ),
    "opentelemetry": GoldenSignals(
        service="",
        source="the opentelemetry convention",
        requests="rate(http_server_request_duration_seconds_count{{selector}}[{window}])",
        errors="rate(http_server_request_duration_seconds_count"
        '{{selector}, http_response_status_code=~"5.."}[{window}])',
        latency="rate(http_server_request_duration_seconds_bucket{{selector}}[{window}])",
        saturation="http_server_active_requests{{selector}}",
        route_label="http_route",
        code_label="http_response_status_code",
    ),
    "none": GoldenSignals(service="", source="no metrics"),
}


def golden_signals(service: str, signals: Signals | None, scraped: bool) -> GoldenSignals:
    """What `service` declares (`signals`), or its default: the harness convention when
    Prometheus scrapes it (`scraped`), no metrics when not."""
    if signals is None:
        base = CONVENTIONS["harness" if scraped else "none"]
        return replace(base, service=service, assumed=scraped)
    base = (
        CONVENTIONS[signals.convention]
        if signals.convention
        else GoldenSignals(service="", source="its own PromQL")
    )
    overrides = {
        k: getattr(signals, k)
        for k in (*SIGNALS, "route_label", "code_label")
        if getattr(signals, k) is not None
    }
    mixed = overrides and base.source != "its own PromQL"
    source = f"{base.source} and its own PromQL" if mixed else base.source
    return replace(base, service=service, source=source, **overrides)


def of_service(topo: Topology, service: str) -> GoldenSignals:
    """The golden signals of one of the topology's services."""
    spec = topo.services[service]
    return golden_signals(service, spec.signals, spec.metrics_path is not None)


def proxies_into(topo: Topology, service: str) -> list[str]:
    """The Toxiproxy proxies in front of the service's replicas (edge and service links):
    Toxiproxy counts their bytes for every service, with metrics of its own or none."""
    replicas = {r.name for r in topo.replicas_of(service)}
    return [link.name for link in topo.links if link.target in replicas]


def proxy_bytes(proxies: list[str], window: str) -> str:
    """Bytes per second through each proxy, both ways: `upstream` what callers sent,
    `downstream` what the replica answered. Toxiproxy counts a connection's bytes when it
    closes, so a kept-alive connection shows when it ends."""
    regex = "|".join(proxies)
    return (
        "sum by (proxy, direction) (rate(toxiproxy_proxy_received_bytes_total"
        f'{{proxy=~"{regex}"}}[{window}]))'
    )
