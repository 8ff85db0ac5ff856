"""A probe's chart draws only what was measured: a steady-state probe is not joined across
the fault band it was not measured in, and a `during` evaluation that was not judged is
drawn apart from the judged ones."""

from __future__ import annotations

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg

from harness.outcome import FaultWindow, PhaseSpan, ProbeEvaluation
from harness.probes.promql import ProbeResult
from harness.report.plots import Frame, _axes, _broken, _finish, probe_chart

FRAME = Frame(
    100.0,
    130.0,
    (PhaseSpan("steady state before", 100.0, 105.0), PhaseSpan("recovery", 115.0, 120.0)),
    (FaultWindow(0, "latency", ("api-1",), 105.0, 115.0),),
)


def _e(phase: str, t: float, value: float | None = 1.0, judged: bool = True) -> ProbeEvaluation:
    result = ProbeResult("avail", "q", ">=", 0.99, value, t, "pass" if value else "no data")
    return ProbeEvaluation(phase, result, judged, "" if judged else "window still holds")


def test_a_steady_state_probe_is_not_joined_across_the_fault():
    evals = [_e("before", 101), _e("before", 102), _e("recovery", 116), _e("after", 121)]
    xs, ys = _broken(evals, FRAME.start)
    assert [x if not math.isnan(x) else "gap" for x in xs] == [1, 2, "gap", 16, "gap", 21]
    assert len(ys) == len(xs) and math.isnan(ys[2])
    chart = probe_chart("avail", evals, FRAME)
    assert (
        chart.svg is not None and "measured (steady state: before and after the fault)" in chart.svg
    )
    assert "during the fault" not in chart.svg


def test_during_evaluations_not_judged_are_drawn_apart():
    evals = [_e("during", 105.5, 0.5, judged=False), _e("during", 108), _e("during", 109)]
    chart = probe_chart("avail", evals, FRAME)
    assert chart.svg is not None
    assert "during the fault, not judged (its look-back reaches before the fault)" in chart.svg
    assert "during the fault, judged" in chart.svg
    assert "threshold &gt;= 0.99" in chart.svg


def test_a_probe_with_no_value_is_said_to_have_no_data():
    chart = probe_chart("avail", [_e("before", 101, None)], FRAME)
    assert (chart.svg, chart.note) == (None, "no data")


def test_the_legend_is_below_the_plot_and_covers_no_point_at_one():
    # a client error ratio at 1: a legend in the axes' upper corner hid those points
    fig, ax = _axes(FRAME)
    ax.plot([1.0, 2.0, 6.0, 12.0], [1.0, 1.0, 1.0, 1.0], marker="o", label="error ratio")
    ax.axhline(0.5, linestyle="--", label="threshold < 0.5")
    svg = _finish(fig, ax, FRAME, "ratio")
    assert ax.get_legend() is None and len(fig.legends) == 1
    renderer = FigureCanvasAgg(fig).get_renderer()  # as laid out when it was saved
    legend = fig.legends[0].get_window_extent(renderer)
    plot = ax.get_window_extent(renderer)
    assert legend.y1 <= plot.y0  # wholly under the axes (and their tick labels' line)
    assert "error ratio" in svg and "threshold &lt; 0.5" in svg
