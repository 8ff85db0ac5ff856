"""Plots for the report, from Prometheus range queries, as inline SVG (matplotlib)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402 — after choosing the backend
import matplotlib.pyplot as plt  # noqa: E402

from harness.clients.prometheus import PrometheusClient, PrometheusError, Series  # noqa: E402
from harness.experiment.outcome import FaultWindow  # noqa: E402
from harness.probes.promql import ProbeResult  # noqa: E402

__all__ = ["Chart", "charts_for", "probe_chart"]


@dataclass(frozen=True)
class Chart:
    title: str
    query: str
    svg: str | None  # None: the query returned nothing (said so in the report)
    note: str = ""


def _queries(entry: str | None, services: list[str]) -> list[tuple[str, str, str]]:
    """(title, PromQL, y label) for the entry service (where the load comes in) as a
    whole, and for every targeted service per replica."""
    out: list[tuple[str, str, str]] = []
    if entry is not None:
        sel = f'service="{entry}"'
        out += [
            (
                f"{entry}: request rate",
                f"sum(rate(http_server_requests_total{{{sel}}}[5s]))",
                "req/s",
            ),
            (
                f"{entry}: error ratio (5xx)",
                f'(sum(rate(http_server_requests_total{{{sel},code=~"5.."}}[5s])) '
                f"or 0 * sum(rate(http_server_requests_total{{{sel}}}[5s]))) "
                f"/ sum(rate(http_server_requests_total{{{sel}}}[5s]))",
                "ratio",
            ),
            (
                f"{entry}: p99 latency",
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(http_server_request_duration_seconds_bucket{{{sel}}}[5s])))",
                "seconds",
            ),
        ]
    for svc in services:
        sel = f'service="{svc}"'
        out += [
            (
                f"{svc}: request rate per replica",
                f"sum by (replica) (rate(http_server_requests_total{{{sel}}}[5s]))",
                "req/s",
            ),
            (
                f"{svc}: error ratio per replica",
                f'(sum by (replica) (rate(http_server_requests_total{{{sel},code=~"5.."}}[5s])) '
                f"or 0 * sum by (replica) (rate(http_server_requests_total{{{sel}}}[5s]))) "
                f"/ sum by (replica) (rate(http_server_requests_total{{{sel}}}[5s]))",
                "ratio",
            ),
            (
                f"{svc}: p99 latency per replica",
                "histogram_quantile(0.99, sum by (replica, le) "
                f"(rate(http_server_request_duration_seconds_bucket{{{sel}}}[5s])))",
                "seconds",
            ),
        ]
    return out


def charts_for(
    prom: PrometheusClient,
    start: float,
    end: float,
    services: list[str],
    windows: list[FaultWindow],
    abort_at: float | None,
    entry: str | None = None,
) -> list[Chart]:
    step = max(1.0, (end - start) / 600)
    charts = []
    for title, query, unit in _queries(entry, services):
        try:
            series = prom.query_range(query, start, end, step)
        except PrometheusError as exc:
            charts.append(Chart(title, query, None, f"query failed: {exc}"))
            continue
        if not series:
            charts.append(Chart(title, query, None, "no data"))
            continue
        charts.append(Chart(title, query, _draw(series, unit, windows, abort_at)))
    return charts


def probe_chart(
    name: str, evals: list[ProbeResult], windows: list[FaultWindow], abort_at: float | None
) -> Chart:
    """A probe's evaluated values over the run with its threshold."""
    points = [(e.time, e.value) for e in evals if e.value is not None]
    if not points:
        return Chart(f"probe {name}", evals[0].query if evals else "", None, "no data")
    first = evals[0]
    series = [
        Series({"probe": name}, points),
        Series(
            {"threshold": f"{first.op} {first.threshold:g}"},
            [(points[0][0], first.threshold), (points[-1][0], first.threshold)],
        ),
    ]
    return Chart(f"probe {name}", first.query, _draw(series, "value", windows, abort_at))


def _x(epoch: float) -> float:
    """Matplotlib's date number for an epoch timestamp (UTC)."""
    return float(mdates.date2num(datetime.fromtimestamp(epoch, UTC)))


def _draw(
    series: list[Series], unit: str, windows: list[FaultWindow], abort_at: float | None
) -> str:
    fig, ax = plt.subplots(figsize=(8, 2.6), dpi=100)
    for s in series:
        xs = [_x(t) for t, _ in s.points]
        label = ",".join(f"{v}" for v in s.labels.values()) or "value"
        ax.plot(
            xs,
            [v for _, v in s.points],
            label=label,
            linewidth=1.4,
            linestyle="--" if "threshold" in s.labels else "-",
        )
    for w in windows:
        if w.end is None:  # every window is closed by the rollback before a report
            continue
        ax.axvspan(_x(w.start), _x(w.end), color="tab:red", alpha=0.12, label=f"fault {w.type}")
    if abort_at is not None:
        ax.axvline(_x(abort_at), color="tab:red", linewidth=2, label="abort")
    ax.set_ylabel(unit)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left", ncol=4)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]
