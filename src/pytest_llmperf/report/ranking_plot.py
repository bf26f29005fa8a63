"""The candidates' ranking as a picture: accuracy against latency and against cost, one
point per candidate coloured by its verdicts (passes every limit, fails one, or only
inconclusive), the recommended candidate starred, the Pareto-optimal ones ringed, the
budget region shaded, and under the panels which limits each candidate failed
(matplotlib).

The points are a candidate's mean figures over its tests, while limits are judged per
test; the region is therefore where the mean lies when every test's own limit is met
(budget_region): outside it a candidate fails some test, inside it the colour decides."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_llmperf.limits import Kind
from pytest_llmperf.metrics import METRICS_BY_NAME, Metric
from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.report.ranking import candidate_of
from pytest_llmperf.settings.lineup import id_without_candidate
from pytest_llmperf.text import EXACT, number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Row = Mapping[str, Any]
Record = Mapping[str, Any]
RANKING_FILE = "ranking.png"
PASSES, FAILS, OPEN = "tab:green", "tab:red", "tab:orange"
_LINE_POINTS = 10  # a label's line height at font size 8
_CHAR_POINTS = 4.9  # a character's mean width at font size 8


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
    highs: list[float] = []
    lows: list[float] = []
    for record in records:
        for verdict in record["verdicts"]:
            if verdict["metric"] != figure:
                continue
            kind = Kind(verdict["kind"])
            bound = kind.candidate_bound(verdict["budget"], verdict["baseline"])
            if bound is not None:
                (lows if kind.bounds_from_below else highs).append(bound)
    return (min(highs) if highs else None), (max(lows) if lows else None)


def budget_region(records: Sequence[Record], figure: str) -> tuple[float | None, float | None]:
    """(highest, lowest) mean of `figure` over a candidate's tests that meets every test's
    limits on it: each test's own bound (a ratio or drop taken at the baseline's figure,
    the median over the candidates where live runs measured it per candidate), averaged
    over the tests. None on a side where some test with the figure sets no limit: the
    figure there is free, so no region can be drawn."""
    key = METRICS_BY_NAME[figure].key
    tests: dict[str, list[Record]] = {}
    for record in records:
        if record["judged"] and (record["candidate"]["figures"] or {}).get(key) is not None:
            tests.setdefault(_test_without_candidate(record), []).append(record)
    per_test = [budget_on([_at_median_baselines(same)], figure) for same in tests.values()]
    highs, lows = [high for high, _ in per_test], [low for _, low in per_test]
    return (
        statistics.fmean(highs) if highs and None not in highs else None,
        statistics.fmean(lows) if lows and None not in lows else None,
    )


def _test_without_candidate(record: Record) -> str:
    """The test's id as judged against the baseline, as the plugin keys its snapshot."""
    test = record["test"]
    params_id = test[test.rfind("[") + 1 : -1] if test.endswith("]") else ""
    return id_without_candidate(test, params_id, candidate_of(record))


def _at_median_baselines(same_test: Sequence[Record]) -> Record:
    """One test's verdicts with each limit's baseline the median over the candidates; a
    limit not compared for some candidate (other hardware, fixed_length) bounds nothing."""
    baselines: dict[str, list[float]] = {}
    not_compared = set()
    for record in same_test:
        for verdict in record["verdicts"]:
            if outcome_of(verdict) is Outcome.NOT_COMPARED:
                not_compared.add(verdict["limit"])
            elif verdict["baseline"] is not None:
                baselines.setdefault(verdict["limit"], []).append(verdict["baseline"])
    verdicts = [
        {**verdict, "baseline": statistics.median(baselines[verdict["limit"]])}
        if verdict["limit"] in baselines
        else verdict
        for verdict in same_test[0]["verdicts"]
        if verdict["limit"] not in not_compared
    ]
    return {"verdicts": verdicts}


def colour(row: Row) -> str:
    if row["passes_every_limit"]:
        return PASSES
    return OPEN if row["fails_no_limit"] else FAILS


def failed_limits_text(ranked: Mapping[str, Any]) -> str:
    """'verbose fails latency_ratio, tokens_ratio': why each red point is red."""
    lines = []
    for row in ranked["candidates"]:
        outcomes = {limit: Outcome(outcome) for limit, outcome in row["limits"].items()}
        failed = [limit for limit, outcome in outcomes.items() if outcome is Outcome.FAIL]
        unsettled = [
            limit for limit, outcome in outcomes.items() if outcome is Outcome.INCONCLUSIVE
        ]
        if failed:
            lines.append(f"{row['candidate']} fails {', '.join(failed)}")
        elif unsettled and not row["passes_every_limit"]:
            lines.append(f"{row['candidate']}: {', '.join(unsettled)} inconclusive")
    return "\n".join(lines)


def ranking_figure(ranked: Mapping[str, Any], records: Sequence[Record]) -> Figure:
    from matplotlib.figure import Figure

    y, xs = axes_figures(ranked)
    footer = failed_limits_text(ranked)
    key_inches = 0.35 + 0.16 * (footer.count("\n") + 1 if footer else 0)
    figure = Figure(figsize=(5.2 * len(xs), 4.2 + key_inches), layout="constrained")
    grid = figure.add_gridspec(2, len(xs), height_ratios=(4.2, key_inches))
    for index, x in enumerate(xs):
        _panel(figure.add_subplot(grid[0, index]), ranked, records, x, y)
    figure.suptitle(
        f"{len(ranked['candidates'])} candidates: recommended "
        f"{ranked['best'] or 'none (none passes every limit)'} ({ranked['rule_text']})",
        fontsize=10,
    )
    _key(figure.add_subplot(grid[1, :]), footer)
    return figure


def _points(ranked: Mapping[str, Any], x: str, y: str) -> list[tuple[list[Row], float, float]]:
    """The candidates with both figures, those at the same point as one entry."""
    at: dict[tuple[float, float], list[Row]] = {}
    for row in ranked["candidates"]:
        px, py = row["figures"][x], row["figures"][y]
        if px is not None and py is not None:
            at.setdefault((px, py), []).append(row)
    return [(rows, px, py) for (px, py), rows in at.items()]


def _panel(
    axes: Axes, ranked: Mapping[str, Any], records: Sequence[Record], x: str, y: str
) -> None:
    x_metric, y_metric = METRICS_BY_NAME[x], METRICS_BY_NAME[y]
    points = _points(ranked, x, y)
    for rows, px, py in points:
        # The recommended candidate last, so that no other point at its place hides it.
        for row in sorted(rows, key=lambda r: r["best"]):
            axes.scatter(
                [px],
                [py],
                s=200 if row["best"] else 60,
                marker="*" if row["best"] else "o",
                color=colour(row),
                edgecolors="black" if row["pareto_optimal"] else colour(row),
                linewidths=1.5,
                zorder=4 if row["best"] else 3,
            )
    _limits(axes, points, y_metric)
    _shade_budget(axes, records, x_metric, y_metric)
    _labels(axes, points)
    for axis, metric in ((axes.xaxis, x_metric), (axes.yaxis, y_metric)):
        axis.set_major_formatter(_tick_format(metric))
    axes.set_xlabel(_axis_label(x_metric))
    axes.set_ylabel(_axis_label(y_metric))
    axes.set_title(f"{y_metric.label} vs {x_metric.label}", fontsize=10)
    axes.grid(alpha=0.3)


def _limits(axes: Axes, points: Sequence[tuple[Any, float, float]], y_metric: Metric) -> None:
    """From zero on x (latency, cost and tokens are never negative); a share's axis stops
    just above 1."""
    axes.margins(0.15)
    axes.autoscale_view()
    axes.set_xlim(left=0)
    if y_metric.unit.style == "share":
        low = min((py for _, _, py in points), default=0.0)
        axes.set_ylim(max(0.0, min(axes.get_ylim()[0], low - 0.05)), 1.04)


def _shade_budget(axes: Axes, records: Sequence[Record], x_metric: Metric, y_metric: Metric):
    """The region where both mean figures meet every test's limits on them (budget_region):
    a candidate outside it fails some test; one inside may still fail a test on its own,
    which its colour says."""
    x_high, _ = budget_region(records, x_metric.name)
    y_high, y_low = budget_region(records, y_metric.name)
    y_bound = y_low if y_metric.higher_is_better else y_high
    if x_high is None:  # a region bounded on y alone says nothing of this panel's trade-off
        axes.text(
            0.98,
            0.02,
            f"no budget region: {x_metric.label} is not limited in every test",
            transform=axes.transAxes,
            ha="right",
            fontsize=7,
            color="dimgrey",
        )
        return
    (left, right), (bottom, top) = axes.get_xlim(), axes.get_ylim()
    low, high = (y_bound, top) if y_metric.higher_is_better else (bottom, y_bound)
    axes.fill_between(
        [left, min(right, x_high)],
        bottom if low is None else low,
        top if high is None else high,
        color=PASSES,
        alpha=0.12,
        label="within every test's limits (mean over the tests)",
        zorder=1,
    )
    axes.set_xlim(left, right)
    axes.set_ylim(bottom, top)
    axes.legend(fontsize=7, loc="lower right")


def _labels(axes: Axes, points: Sequence[tuple[list[Row], float, float]]) -> None:
    """Each point's names beside it, moved down a line while they would overlap a label
    placed before (boxes estimated in points: the layout is not drawn yet)."""
    (left, right), (bottom, top) = axes.get_xlim(), axes.get_ylim()
    width, height = _axes_size_points(axes)
    placed: list[tuple[float, float, float]] = []  # left, right, baseline in points
    for rows, px, py in sorted(points, key=lambda p: (p[1], -p[2])):
        names = ", ".join(row["candidate"] for row in rows)
        x0 = (px - left) / (right - left) * width + 6
        x1 = x0 + _CHAR_POINTS * len(names)
        at_y = (py - bottom) / (top - bottom) * height
        y0 = at_y + 5
        while any(
            x0 < end and start < x1 and abs(y0 - y) < _LINE_POINTS for start, end, y in placed
        ):
            y0 -= _LINE_POINTS
        placed.append((x0, x1, y0))
        offset = y0 - at_y
        axes.annotate(
            names, (px, py), xytext=(6, offset), textcoords="offset points", fontsize=8, zorder=5
        )


def _axes_size_points(axes: Axes) -> tuple[float, float]:
    figure = axes.get_figure()
    box = axes.get_position()
    inches = figure.get_size_inches()
    return box.width * inches[0] * 72, box.height * inches[1] * 72


def _tick_format(metric: Metric):
    """Ticks as the report writes the figure ($0.00002, not 2e-5 with an offset)."""
    from matplotlib.ticker import FuncFormatter

    if metric.unit.style == "money":
        return FuncFormatter(lambda value, _: metric.unit.format(value, exact=True))
    return FuncFormatter(lambda value, _: number(value, EXACT, trim=True))


def _axis_label(metric: Metric) -> str:
    if metric.unit.style == "money" or not metric.unit.symbol:
        return metric.label
    return f"{metric.label} ({metric.unit.symbol})"


def _key(axes: Axes, footer: str) -> None:
    """Under the panels: what the marks mean, then which limits each candidate failed."""
    from matplotlib.lines import Line2D

    def mark(label: str, color: str, marker: str = "o", edge: str | None = None) -> Line2D:
        size = 12 if marker == "*" else 7
        return Line2D(
            [],
            [],
            linestyle="",
            marker=marker,
            markersize=size,
            color=color,
            markeredgecolor=edge or color,
            markeredgewidth=1.5,
            label=label,
        )

    handles = [
        mark("passes every limit", PASSES),
        mark("fails a limit", FAILS),
        mark("no limit failed, some inconclusive", OPEN),
        mark("recommended", "white", "*", "grey"),
        mark("Pareto-optimal (ringed)", "white", "o", "black"),
    ]
    axes.axis("off")
    axes.legend(handles=handles, loc="upper center", ncols=5, fontsize=8, frameon=False)
    if footer:
        axes.text(0.0, 0.0, footer, fontsize=8, va="bottom", transform=axes.transAxes)
