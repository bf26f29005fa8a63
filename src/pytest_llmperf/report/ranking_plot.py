"""The candidates' ranking as a picture: accuracy against latency and against cost, one
point per candidate, the region within every budget on those figures shaded, the
recommended candidate starred and the Pareto-optimal ones ringed (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_llmperf.metrics import METRICS_BY_NAME

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Record = Mapping[str, Any]
RANKING_FILE = "ranking.png"
_ABSOLUTE, _RATIO, _FLOOR, _DROP = "absolute", "ratio", "floor", "drop"


def _present(ranked: Mapping[str, Any], figure: str) -> bool:
    return any(row["figures"][figure] is not None for row in ranked["candidates"])


def axes_figures(ranked: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The y figure (accuracy, else output tokens when no answers were scored) and the x
    figures of the panels (latency, and cost, else output tokens when unpriced)."""
    y = "accuracy" if _present(ranked, "accuracy") else "output_tokens"
    second = "cost" if _present(ranked, "cost") else "output_tokens"
    return y, ["latency"] + ([second] if second != y else [])


def budget_on(records: Sequence[Record], figure: str) -> tuple[float | None, float | None]:
    """(highest allowed, lowest allowed) value of a figure by the tests' limits on it, a
    ratio or drop turned into a value with the baseline's figure; None where none says."""
    highs, lows = [], []
    for record in records:
        for verdict in record["verdicts"]:
            budget, baseline = verdict["budget"], verdict["baseline"]
            if verdict["metric"] != figure:
                continue
            if verdict["kind"] == _ABSOLUTE:
                highs.append(budget)
            elif verdict["kind"] == _RATIO and baseline is not None:
                highs.append(budget * baseline)
            elif verdict["kind"] == _FLOOR:
                lows.append(budget)
            elif verdict["kind"] == _DROP and baseline is not None:
                lows.append(baseline - budget)
    return (min(highs) if highs else None), (max(lows) if lows else None)


def ranking_figure(ranked: Mapping[str, Any], records: Sequence[Record]) -> Figure:
    from matplotlib.figure import Figure

    y, xs = axes_figures(ranked)
    figure = Figure(figsize=(5.2 * len(xs), 4.4), layout="constrained")
    for index, x in enumerate(xs):
        axes = figure.add_subplot(1, len(xs), index + 1)
        _panel(axes, ranked, records, x, y)
    figure.suptitle(
        f"{len(ranked['candidates'])} candidates: recommended "
        f"{ranked['best'] or 'none (none passes every limit)'} ({ranked['rule_text']})",
        fontsize=10,
    )
    return figure


def _panel(axes: Axes, ranked: Mapping[str, Any], records: Sequence[Record], x: str, y: str):
    x_metric, y_metric = METRICS_BY_NAME[x], METRICS_BY_NAME[y]
    points = [
        (row, row["figures"][x], row["figures"][y])
        for row in ranked["candidates"]
        if row["figures"][x] is not None and row["figures"][y] is not None
    ]
    for row, px, py in points:
        color = "tab:green" if row["passes_every_limit"] else "tab:red"
        marker = "*" if row["best"] else "o"
        edge = "black" if row["pareto_optimal"] else color
        axes.scatter(
            [px],
            [py],
            s=160 if row["best"] else 60,
            marker=marker,
            color=color,
            edgecolors=edge,
            linewidths=1.5,
            zorder=3,
        )
        axes.annotate(
            row["candidate"], (px, py), xytext=(5, 5), textcoords="offset points", fontsize=8
        )
    x_high, _ = budget_on(records, x)
    y_high, y_low = budget_on(records, y)
    if y_metric.higher_is_better:
        y_high = None
    else:
        y_low = None
    axes.margins(0.2)
    axes.autoscale_view()
    left, right = axes.get_xlim()
    bottom, top = axes.get_ylim()
    if x_high is not None or y_high is not None or y_low is not None:
        axes.fill_between(
            [left, right if x_high is None else min(right, x_high)],
            bottom if y_low is None else y_low,
            top if y_high is None else y_high,
            color="tab:green",
            alpha=0.12,
            label="within the budgets",
            zorder=1,
        )
        axes.legend(fontsize=8, loc="best")
    axes.set_xlim(left, right)
    axes.set_ylim(bottom, top)
    axes.set_xlabel(f"{x_metric.label} ({x_metric.unit.symbol})".replace(" ()", ""))
    axes.set_ylabel(f"{y_metric.label} ({y_metric.unit.symbol})".replace(" ()", ""))
    axes.set_title(f"{y_metric.label} vs {x_metric.label}", fontsize=10)
    axes.grid(alpha=0.3)
