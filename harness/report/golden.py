"""The report's golden-signal charts and its server-side row, from what each service declares.

A service's request rate, errors and latency come from its `signals:` (harness.specs.
signals); a signal it does not declare is one line in the report, never a chart of
nothing. A service with no request rate of its own still gets a traffic chart: the
bytes through the Toxiproxy proxies in front of its replicas. A targeted service's
latency and failures are its callers' view of each replica when a caller reports its
calls (the harness convention's `dependency_request_duration_seconds`), else the
service's own per-replica view, else a line saying there is none.

When Prometheus returns no series where a service declares a signal, `why_empty` says
which of three it is: not scraped, scraped but down, or scraped and up without those
series (declare its `signals:`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.specs.signals import GoldenSignals, of_service, proxies_into, proxy_bytes
from harness.specs.topology import Topology

__all__ = ["ChartSpec", "ReportSignals", "ServerView", "entry_of"]


@dataclass(frozen=True)
class ChartSpec:
    """One chart to draw: its title, PromQL, y unit, and whose signal it is."""

    title: str
    query: str
    unit: str
    service: str


@dataclass(frozen=True)
class ServerView:
    """The entry service over the whole run, as Prometheus saw it. A value is None when
    Prometheus returned nothing; a signal the service does not declare is not in
    `values` and is named in `absent`."""

    values: dict[str, float | None] = field(default_factory=dict)
    absent: str = ""  # "kinto declares no latency histogram"
    empty: str = ""  # why Prometheus returned nothing, when it did not


def entry_of(topo: Topology) -> str | None:
    """The service behind the topology's first edge proxy: where the load enters."""
    edge = next((link for link in topo.links if link.kind == "edge"), None)
    return None if edge is None else topo.replica_named(edge.target).service


@dataclass(frozen=True)
class ReportSignals:
    """What the report charts of a topology's services, and what it says they lack."""

    topo: Topology
    entry: str | None

    @classmethod
    def of(cls, topo: Topology, entry: str | None = None) -> ReportSignals:
        return cls(topo, entry if entry is not None else entry_of(topo))

    def golden(self, service: str) -> GoldenSignals:
        return of_service(self.topo, service)

    def charts(self, services: list[str], window: str) -> tuple[list[ChartSpec], list[str]]:
        """The charts of the entry service as a whole, then of each targeted service per
        replica; and one line per service for what it does not have."""
        specs: list[ChartSpec] = []
        lines: list[str] = []
        if self.entry is not None:
            specs += self._whole(self.entry, window)
            lines.append(self._absent(self.entry, whole=True))
        for svc in services:
            specs += self._per_replica(svc, window, traffic_shown=svc == self.entry)
            if svc != self.entry:
                lines.append(self._absent(svc, whole=False))
        return specs, [line for line in lines if line]

    def _whole(self, svc: str, window: str) -> list[ChartSpec]:
        g, sel = self.golden(svc), self.golden(svc).selector()
        req, err, lat = (g.query(s, sel, window) for s in ("requests", "errors", "latency"))
        out = []
        if req is None:
            out += self._traffic(svc, window)
        else:
            out.append(ChartSpec(f"{svc}: request rate (Prometheus)", f"sum({req})", "req/s", svc))
        if req is not None and err is not None:
            ratio = f"(sum({err}) or 0 * sum({req})) / sum({req})"
            out.append(ChartSpec(f"{svc}: error ratio, 5xx (Prometheus)", ratio, "ratio", svc))
        if lat is not None:
            p99 = f"histogram_quantile(0.99, sum by (le) ({lat}))"
            out.append(ChartSpec(f"{svc}: p99 latency (Prometheus)", p99, "seconds", svc))
        return out

    def _per_replica(self, svc: str, window: str, traffic_shown: bool) -> list[ChartSpec]:
        g, sel = self.golden(svc), self.golden(svc).selector()
        req, err, lat = (g.query(s, sel, window) for s in ("requests", "errors", "latency"))
        out = []
        if req is not None:
            title = f"{svc}: request rate per replica (server side)"
            out.append(ChartSpec(title, f"sum by (replica) ({req})", "req/s", svc))
        elif not traffic_shown:
            out += self._traffic(svc, window)
        calls = self._calls(svc)
        if calls is not None:
            return out + _callers_view(svc, calls, window)
        if lat is not None:
            p99 = f"histogram_quantile(0.99, sum by (replica, le) ({lat}))"
            title = f"{svc}: p99 latency per replica (server side)"
            out.append(ChartSpec(title, p99, "seconds", svc))
        if err is not None:
            title = f"{svc}: 5xx per replica (server side)"
            five = f"sum by (replica) ({err})"
            if req is not None:  # a 5xx series is born at the first 5xx: none yet is zero
                five += f" or 0 * sum by (replica) ({req})"
            out.append(ChartSpec(title, five, "req/s", svc))
        return out

    def _traffic(self, svc: str, window: str) -> list[ChartSpec]:
        proxies = proxies_into(self.topo, svc)
        if not proxies:
            return []
        title = f"{svc}: bytes per second through each proxy in front of it (Toxiproxy)"
        return [ChartSpec(title, proxy_bytes(proxies, window), "bytes/s", svc)]

    def _calls(self, svc: str) -> str | None:
        """The histogram a caller of `svc` reports its calls in, if one does."""
        return next(
            (
                calls
                for name, spec in self.topo.services.items()
                if svc in spec.depends_on and (calls := self.golden(name).calls)
            ),
            None,
        )

    def _absent(self, svc: str, whole: bool) -> str:
        """One line for what the service lacks and what stands in for it; "" for nothing."""
        g = self.golden(svc)
        missing = g.missing()
        if not whole and self._calls(svc) is not None:
            missing = [m for m in missing if m == "requests"]
        if not missing:
            return ""
        line = g.absent_line(missing)
        panels = {"requests": "request-rate", "errors": "error-ratio", "latency": "latency"}
        line += f": no {_or([panels[m] for m in missing])} panel"
        if "requests" in missing and proxies_into(self.topo, svc):
            line += "; its traffic is the bytes through its Toxiproxy proxies"
        return line

    def server_view(self, prom: PrometheusClient, start: float, end: float) -> ServerView | None:
        """The entry service over the run: requests, error ratio, p50 and p99."""
        if self.entry is None:
            return None
        g = self.golden(self.entry)
        seconds = max(1, int(end - start))
        sel, window = g.selector(), f"{seconds}s"
        req, err, lat = (g.query(s, sel, window) for s in ("requests", "errors", "latency"))
        queries: dict[str, str] = {}
        if req is not None:
            queries["requests"] = f"sum({req}) * {seconds}"
            if err is not None:  # no 5xx series yet is no error: it is born at the first
                queries["error_ratio"] = f"(sum({err}) or vector(0)) / sum({req})"
        if lat is not None:
            for name, q in (("p50", "0.5"), ("p99", "0.99")):
                queries[name] = f"histogram_quantile({q}, sum by (le) ({lat}))"
        try:
            values = {k: _first(prom, q, end) for k, q in queries.items()}
        except PrometheusError:
            return None
        absent = g.absent_line()
        if not queries:
            return ServerView({}, absent)
        empty = self.why_empty(prom, self.entry, end) if None in values.values() else ""
        return ServerView(values, absent, empty)

    def why_empty(self, prom: PrometheusClient, svc: str, at: float) -> str:
        """Why Prometheus returned no series for a signal the service declares."""
        spec, g = self.topo.services[svc], self.golden(svc)
        if spec.metrics_path is None and g.source != "its own PromQL":
            return f"Prometheus does not scrape {svc} (it has no metrics_path)"
        try:
            up = prom.query(f'max(up{{job="{svc}"}})', at=at)
        except PrometheusError as exc:
            return f"Prometheus could not be asked whether it scrapes {svc}: {exc}"
        if up and up[0].value == 1:
            hint = (
                f"it declares no `signals:`, so {g.source} was assumed"
                if g.assumed
                else f"it declares {g.source}"
            )
            return (
                f"Prometheus scrapes {svc} (up), but it has no such series: {hint}; "
                "declare where its signals come from (`signals:` in the topology)"
            )
        if up:
            return f"{svc}'s scrape target was down at the end of the run (up == 0)"
        return f"Prometheus has no scrape target for {svc} (no `up` series)"


def _first(prom: PrometheusClient, query: str, at: float) -> float | None:
    samples = prom.query(query, at=at)
    return samples[0].value if samples else None


def _callers_view(svc: str, calls: str, window: str) -> list[ChartSpec]:
    """Each replica as its callers saw it: their calls' p99 and failures per upstream."""
    dep = f'dependency="{svc}"'
    p99 = (
        f"histogram_quantile(0.99, sum by (upstream, le) (rate({calls}_bucket{{{dep}}}[{window}])))"
    )
    failed = f'sum by (upstream) (rate({calls}_count{{{dep},outcome!="ok"}}[{window}]))'
    return [
        ChartSpec(f"{svc}: p99 latency per replica, as its callers saw it", p99, "seconds", svc),
        ChartSpec(
            f"{svc}: failed calls per replica, as its callers saw them", failed, "calls/s", svc
        ),
    ]


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"
