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
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from harness.clients.prometheus import PrometheusClient, PrometheusError, Series  # noqa: E402
from harness.load.generator import Record  # noqa: E402
from harness.outcome import FaultWindow, PhaseSpan, ProbeEvaluation  # noqa: E402
from harness.report.golden import ChartSpec  # noqa: E402

__all__ = ["Chart", "Frame", "charts_for", "legend_below", "probe_chart", "svg_of", "user_charts"]

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


@dataclass(frozen=True)
class _Style:
    """How one kind of evaluation is drawn; `joined`: a line between its points."""

    label: str
    colour: str
    filled: bool = True
    joined: bool = True
    marker: str = "o"


_KINDS = {
    "measured": _Style("measured (steady state: before and after the fault)", "tab:blue"),
    "judged": _Style("during the fault, judged", "tab:purple"),
    "not judged": _Style(
        "during the fault, not judged (its look-back reaches before the fault)",
        "tab:grey",
        False,
        False,
    ),
    "guardrail": _Style("guardrail", "tab:orange", marker="s"),
}


def probe_chart(name: str, evals: Sequence[ProbeEvaluation], frame: Frame) -> Chart:
    """A probe's evaluated values over the run with its threshold: only the points
    measured, a line joining them only within a phase (a steady-state probe is not
    measured during the fault, and no line across the fault band says it was), and a
    `during` evaluation that was not judged drawn hollow and grey."""
    if not any(e.result.value is not None for e in evals):
        return Chart(f"probe {name}", evals[0].result.query if evals else "", None, "no data")
    first = evals[0].result
    fig, ax = _axes(frame)
    t0 = frame.start
    for kind, style in _KINDS.items():
        mine = [e for e in evals if _kind(e) == kind and e.result.value is not None]
        if not mine:
            continue
        xs, ys = _broken(mine, t0) if style.joined else _points(mine, t0)
        ax.plot(
            xs,
            ys,
            marker=style.marker,
            markersize=4,
            markerfacecolor=style.colour if style.filled else "none",
            color=style.colour,
            linewidth=1.2 if style.joined else 0,
            label=style.label,
        )
    threshold = f"threshold {first.op} {first.threshold:g}"
    ax.axhline(first.threshold, color="black", linestyle="--", linewidth=1.0, label=threshold)
    return Chart(f"probe {name}", first.query, _finish(fig, ax, frame, "value"))


def _kind(e: ProbeEvaluation) -> str:
    if e.phase == "during":
        return "judged" if e.judged else "not judged"
    return "guardrail" if e.phase == "guardrail" else "measured"


def _points(evals: Sequence[ProbeEvaluation], t0: float) -> tuple[list[float], list[float]]:
    return [e.result.time - t0 for e in evals], [float(e.result.value or 0.0) for e in evals]


def _broken(evals: Sequence[ProbeEvaluation], t0: float) -> tuple[list[float], list[float]]:
    """The points, with a gap (NaN) wherever the phase changes: no line drawn between
    the last evaluation before the fault and the first after it."""
    xs: list[float] = []
    ys: list[float] = []
    for i, e in enumerate(evals):
        if i and e.phase != evals[i - 1].phase:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(e.result.time - t0)
        ys.append(float(e.result.value or 0.0))
    return xs, ys


def _axes(frame: Frame) -> tuple[Figure, Axes]:
    """A run's plot area: its phases as bands, its fault windows shaded, its abort."""
    fig, ax = plt.subplots(figsize=(11, 2.8), dpi=100, layout="constrained")
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
    return fig, ax


def _finish(fig: Figure, ax: Axes, frame: Frame, unit: str) -> str:
    ax.set_xlim(0, max(1.0, frame.end - frame.start))
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    legend_below(fig, ax)
    return svg_of(fig)


def legend_below(fig: Figure, ax: Axes, columns: int = 3) -> None:
    """The legend under the plot, outside the axes: inside them it covered what was drawn
    at the top (a ratio at 1, a threshold, a bar). `fig` needs the constrained layout;
    it grows by the legend's rows, so the plot keeps its height."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    if not unique:
        return
    rows = math.ceil(len(unique) / columns)
    fig.set_figheight(fig.get_figheight() + 0.17 * rows)
    fig.legend(
        unique.values(),
        unique.keys(),
        loc="outside lower center",
        ncol=columns,
        fontsize=7,
        frameon=False,
    )


def _draw(series: list[Series], unit: str, frame: Frame, scatter: bool = False) -> str:
    fig, ax = _axes(frame)
    t0 = frame.start
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
    return _finish(fig, ax, frame, unit)


def svg_of(fig: Figure) -> str:
    """The figure as inline SVG (no XML prolog), and closed."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]
