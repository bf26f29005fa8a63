"""SLO attainment against load, one PNG per test that searched a capacity: each model's
steps at their request rate, the attainment with its Clopper-Pearson interval as an error
bar, a marker per outcome (over-saturated and client-bound steps stand out), the target as
a horizontal line, and each model's capacity bracket (the highest rate shown to hold to the
lowest shown not to) shaded in its colour (matplotlib, imported on first use)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmperf.judge.capacity import StepOutcome
from pytest_llmperf.report.capacity_table import (
    bracket_text,
    by_rate,
    ratio_text,
    searches,
    slo_text,
    step_outcome,
    verdicts_text,
)
from pytest_llmperf.report.plot_style import COLORS, SLA_COLOR, log_ticks, model_label
from pytest_llmperf.results import CapacityFigures

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Record = Mapping[str, Any]

# marker, filled, legend text: the shape says what a step showed, the colour which model.
MARKERS: dict[StepOutcome, tuple[str, bool, str]] = {
    StepOutcome.HOLDS: ("o", True, "holds: interval at or above the target"),
    StepOutcome.MISSES: ("o", False, "misses: interval below the target"),
    StepOutcome.INDETERMINATE: ("D", False, "indeterminate: interval straddles the target"),
    StepOutcome.OVER_SATURATED: ("X", True, "over-saturated: the queue grew (never holds)"),
    StepOutcome.CLIENT_BOUND: ("s", False, "client-bound: the client sent late (never holds)"),
}
LOG_SPAN = 4.0  # rates spanning more than this factor are drawn on a log axis
APART = 0.016  # two models' points at one rate drawn this share of the axis apart


@dataclass(frozen=True)
class Point:
    """One step as drawn: its rate (x), attainment (y) and interval, and its outcome."""

    rate: float
    attainment: float
    low: float
    high: float
    outcome: StepOutcome


def points(figures: CapacityFigures) -> list[Point]:
    """A search's steps by rate; a step without an interval (an older record) has none."""
    return [
        Point(
            step.rate_rps,
            step.attainment,
            step.attainment if step.low is None else step.low,
            step.attainment if step.high is None else step.high,
            step_outcome(step),
        )
        for step in by_rate(figures)
    ]


def log_axis(rates: Sequence[float]) -> bool:
    return min(rates) > 0 and max(rates) / min(rates) > LOG_SPAN


def shifted(
    rates: Sequence[float], others: Sequence[float], index: int, count: int, log: bool
) -> list[float]:
    """Where the index-th of `count` models' points are drawn: a rate another model also
    measured (both searches start alike) moved a little apart, every other at its rate."""
    offset = (index - (count - 1) / 2) * APART
    span = (max(rates) - min(rates)) or max(rates)

    def apart(rate: float) -> float:
        if not any(math.isclose(rate, other, rel_tol=1e-6) for other in others):
            return rate
        return rate * (1 + offset) if log else rate + offset * span

    return [apart(rate) for rate in rates]


def capacity_figure(record: Record) -> Figure:
    """Attainment against request rate for every model of the test that searched one."""
    from matplotlib.figure import Figure

    found = searches(record)
    figure = Figure(figsize=(9.0, 5.6), layout="constrained")
    axes = figure.add_subplot()
    rates = [step.rate_rps for _, figures in found for step in figures.steps]
    log = bool(rates) and log_axis(rates)
    handles: list[Any] = []
    for index, (role, figures) in enumerate(found):
        drawn = points(figures)
        if drawn:
            others = [s.rate_rps for _, f in found if f is not figures for s in f.steps]
            xs = shifted([p.rate for p in drawn], others, index, len(found), log)
            _steps(axes, drawn, xs, COLORS[role])
        handles.append(_bracket(axes, role, figures, record, min(rates, default=1.0)))
    target = found[0][1].target
    axes.axhline(target, color=SLA_COLOR, linestyle="--", linewidth=1.3, zorder=1)
    handles.append(_target_key(target))
    if log:
        log_ticks(axes)
    _frame(axes, record, found, log)
    # What a marker means, inside the axes (low attainment lies at high rates, on the right);
    # which model is which and what it held, under them.
    seen = {step_outcome(step) for _, figures in found for step in figures.steps}
    keys = [_outcome_key(outcome) for outcome in MARKERS if outcome in seen]
    axes.legend(handles=keys, loc="lower left", fontsize=8, framealpha=0.9)
    figure.legend(handles=handles, loc="outside lower left", fontsize=8, frameon=False)
    return figure


def _steps(axes: Axes, drawn: Sequence[Point], xs: Sequence[float], color: str) -> None:
    """A model's steps: joined by rate, error bars, a marker per outcome."""
    ys = [p.attainment for p in drawn]
    axes.plot(xs, ys, color=color, linewidth=1.0, alpha=0.5, zorder=2)
    below = [p.attainment - p.low for p in drawn]
    above = [p.high - p.attainment for p in drawn]
    axes.errorbar(
        xs, ys, yerr=[below, above], fmt="none", ecolor=color, capsize=3, linewidth=1.1, zorder=3
    )
    for outcome, (marker, filled, _) in MARKERS.items():
        mine = [(x, p.attainment) for x, p in zip(xs, drawn, strict=True) if p.outcome is outcome]
        if not mine:
            continue
        size = 90 if outcome is StepOutcome.OVER_SATURATED else 45
        axes.scatter(
            [x for x, _ in mine],
            [y for _, y in mine],
            s=size,
            marker=marker,
            facecolors=color if filled else "white",
            edgecolors="black" if outcome is StepOutcome.OVER_SATURATED else color,
            linewidths=1.4,
            zorder=4,
        )


def _bracket(axes: Axes, role: str, figures: CapacityFigures, record: Record, lowest: float) -> Any:
    """The capacity found: a solid line at the rate shown to hold and the bracket up to the
    lowest rate shown not to shaded (to 1.5x when every rate held; from below the lowest
    rate when none did); returns the model's legend entry."""
    from matplotlib.patches import Patch

    color = COLORS[role]
    held, failed = figures.held_rps, figures.failed_rps
    if held is not None:
        axes.axvline(held, color=color, linewidth=1.6, zorder=1)
        right = failed if failed is not None else held * 1.5
        axes.axvspan(held, right, color=color, alpha=0.18, linewidth=0, zorder=0)
    elif failed is not None:
        axes.axvspan(lowest / 1.5, failed, color=color, alpha=0.1, linewidth=0, zorder=0)
    name = model_label(record[role].get("name") or record[role].get("source"))
    label = f"{role} ({name})" if name else role
    return Patch(facecolor=color, alpha=0.5, label=f"{label}: {bracket_text(figures)}")


def _target_key(target: float) -> Any:
    from matplotlib.lines import Line2D

    label = f"target: {target:.0%} of requests within the SLO"
    return Line2D([], [], color=SLA_COLOR, linestyle="--", label=label)


def _outcome_key(outcome: StepOutcome) -> Any:
    from matplotlib.lines import Line2D

    marker, filled, label = MARKERS[outcome]
    edge = "black" if outcome is StepOutcome.OVER_SATURATED else "0.3"
    return Line2D(
        [],
        [],
        marker=marker,
        linestyle="none",
        markersize=9 if outcome is StepOutcome.OVER_SATURATED else 7,
        markerfacecolor="0.3" if filled else "white",
        markeredgecolor=edge,
        label=label,
    )


def _frame(
    axes: Axes, record: Record, found: Sequence[tuple[str, CapacityFigures]], log: bool
) -> None:
    from matplotlib.ticker import PercentFormatter

    axes.set_ylim(-0.03, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylabel("SLO attainment (share of requests within the SLO)")
    sent = "requests in flight" if found[0][1].by == "concurrency" else "requests/s sent"
    axes.set_xlabel(sent + (" (log scale)" if log else ""))
    axes.grid(alpha=0.3, which="both" if log else "major")
    test = "\n".join(textwrap.wrap(record["test"], 95, break_on_hyphens=False))
    lines = [test, f"SLO attainment against load: {slo_text(found[0][1])}"]
    verdict = "; ".join(text for text in (ratio_text(record), verdicts_text(record)) if text)
    lines += textwrap.wrap(verdict, 115)
    axes.set_title("\n".join(lines), fontsize=9, loc="left")
