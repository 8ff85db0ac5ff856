"""Plots for the report, as inline SVG (matplotlib): what the users saw (the load
generator's own requests), what Prometheus saw, and each probe's values.

Every plot spans the run, from its start to its end, on an axis of seconds since the
start (wall-clock ticks were unreadable at sub-second zoom), with the run's phases as
bands and the fault windows shaded. Which golden-signal charts there are, and their
PromQL, is each service's declaration (harness.report.golden): where a caller reports its
calls, a targeted service's latency is the callers' view of each replica, so a bandwidth
fault on a link shows as the users felt it, not as the server measured its own handling.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from harness.clients.prometheus import PrometheusClient, PrometheusError, Series  # noqa: E402
from harness.experiment.outcome import FaultWindow, PhaseSpan  # noqa: E402
from harness.load.generator import Record  # noqa: E402
from harness.probes.promql import ProbeResult  # noqa: E402
from harness.report.golden import ChartSpec  # noqa: E402

__all__ = ["Chart", "Frame", "charts_for", "probe_chart", "svg_of", "user_charts"]

_BANDS = {"load": "#eeeeee", "steady state before": "#e3f2e3", "recovery": "#fff4d6"}
RATE = "5s"


@dataclass(frozen=True)
class Chart:
    title: str
    query: str
    svg: str | None  # None: the query returned nothing (said so in the report)
    note: str = ""


@dataclass(frozen=True)
class Frame:
    """What every plot of a run shares: its span, its phases, its faults, its abort."""

    start: float
    end: float
    phases: Sequence[PhaseSpan] = ()
    windows: Sequence[FaultWindow] = ()
    abort_at: float | None = None


def charts_for(
    prom: PrometheusClient,
    frame: Frame,
    specs: Sequence[ChartSpec],
    why_empty: Callable[[str], str] = lambda _service: "",
) -> list[Chart]:
    """Each chart drawn from Prometheus over the run; a query that returned no series
    says so, with `why_empty(service)` (not scraped, down, or no such series)."""
    step = max(0.5, (frame.end - frame.start) / 600)
    charts = []
    reasons: dict[str, str] = {}
    for spec in specs:
        try:
            series = prom.query_range(spec.query, frame.start, frame.end, step)
        except PrometheusError as exc:
            charts.append(Chart(spec.title, spec.query, None, f"query failed: {exc}"))
            continue
        if not series:
            if spec.service not in reasons:
                reasons[spec.service] = why_empty(spec.service)
            note = "no data: Prometheus returned no series for this query over the run"
            reason = reasons[spec.service]
            charts.append(
                Chart(spec.title, spec.query, None, f"{note}: {reason}" if reason else note)
            )
            continue
        charts.append(Chart(spec.title, spec.query, _draw(series, spec.unit, frame)))
    return charts


def user_charts(records: Sequence[Record], offset: float, frame: Frame) -> list[Chart]:
    """The load generator's own requests: each one's latency (failures marked), and the
    share that failed per second. `offset` turns their monotonic times into wall clock."""
    if not records:
        return []
    ok = [(r.scheduled + offset, r.latency) for r in records if r.ok]
    bad = [(r.scheduled + offset, r.latency) for r in records if not r.ok]
    latency = [
        Series({"answered 2xx/3xx": ""}, ok),
        Series({"failed (non-2xx/3xx, or no answer)": ""}, bad),
    ]
    per_second: dict[int, list[bool]] = {}
    for r in records:
        per_second.setdefault(int(r.scheduled + offset), []).append(r.ok)
    errors = [
        (second + 0.5, sum(1 for good in oks if not good) / len(oks))
        for second, oks in sorted(per_second.items())
    ]
    source = "the load generator's records (client side)"
    return [
        Chart(
            "users: latency of every request",
            source,
            _draw(latency, "seconds", frame, scatter=True),
        ),
        Chart(
            "users: share of requests failed, per second",
            source,
            _draw([Series({"failed share": ""}, errors)], "ratio", frame),
        ),
    ]


def probe_chart(name: str, evals: list[ProbeResult], frame: Frame) -> Chart:
    """A probe's evaluated values over the run with its threshold."""
    points = [(e.time, e.value) for e in evals if e.value is not None]
    if not points:
        return Chart(f"probe {name}", evals[0].query if evals else "", None, "no data")
    first = evals[0]
    series = [
        Series({"probe": name}, points),
        Series(
            {"threshold": f"{first.op} {first.threshold:g}"},
            [(frame.start, first.threshold), (frame.end, first.threshold)],
        ),
    ]
    return Chart(f"probe {name}", first.query, _draw(series, "value", frame))


def _draw(series: list[Series], unit: str, frame: Frame, scatter: bool = False) -> str:
    fig, ax = plt.subplots(figsize=(11, 2.8), dpi=100)
    t0 = frame.start
    for phase in frame.phases:
        colour = _BANDS.get(phase.name)
        if colour is not None and phase.end is not None:
            ax.axvspan(phase.start - t0, phase.end - t0, color=colour, label=phase.name)
    for w in frame.windows:
        if w.end is None:  # every window is closed by the rollback before a report
            continue
        label = f"fault {w.type} on {', '.join(w.targets)}"
        label = label if w.step is None else f"step {w.step}: {label}"
        ax.axvspan(w.start - t0, w.end - t0, color="tab:red", alpha=0.14, label=label)
    if frame.abort_at is not None:
        ax.axvline(frame.abort_at - t0, color="tab:red", linewidth=2, label="abort")
    for s in series:
        xs = [t - t0 for t, _ in s.points]
        ys = [v for _, v in s.points]
        label = ", ".join(f"{k}={v}" if v else k for k, v in s.labels.items()) or "value"
        if scatter:
            failed = label.startswith("failed")
            ax.scatter(
                xs,
                ys,
                s=6 if not failed else 14,
                marker="x" if failed else "o",
                label=label,
                color="tab:red" if failed else "tab:blue",
                alpha=0.6,
            )
        else:
            ax.plot(
                xs,
                ys,
                label=label,
                linewidth=1.4,
                linestyle="--" if "threshold" in s.labels else "-",
            )
    ax.set_xlim(0, max(1.0, frame.end - t0))
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left", ncol=3)
    return svg_of(fig)


def svg_of(fig: Figure) -> str:
    """The figure as inline SVG (no XML prolog), and closed."""
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]
