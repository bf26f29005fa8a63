"""PNG plots of the judged tests, and an index.html that shows them beside the summary table.

Rendered from report records only (records.py), so the controller of an xdist run draws the
workers' tests too. matplotlib is imported on first use, through its object-oriented API on
the Agg canvas: no pyplot state, no GUI, nothing shown.
"""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_llmperf.report.capacity_plot import capacity_figure
from pytest_llmperf.report.capacity_table import searched
from pytest_llmperf.report.cells import observed_text
from pytest_llmperf.report.plot_style import COLORS, ROLES, SLA_COLOR, log_ticks, model_label
from pytest_llmperf.report.plots_page import index_html
from pytest_llmperf.report.ranking import ranking
from pytest_llmperf.report.ranking_plot import RANKING_FILE, ranking_figure
from pytest_llmperf.settings.parsers import rank_rule
from pytest_llmperf.settings.settings import OPTIONS_BY_KEY
from pytest_llmperf.text import EXACT, number, plural

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Record = Mapping[str, Any]
RATIO_COLOR = "#8172B3"
TRADEOFF_FILE = "tradeoff.png"
INDEX_FILE = "index.html"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def judged(records: Sequence[Record]) -> list[Record]:
    """The records drawn: judged tests with the candidate's figures."""
    return [r for r in records if r.get("judged") and r["candidate"].get("figures")]


def latency_file(nodeid: str, kind: str = "latency") -> str:
    """A file name for a test id that is safe on every file system (ids hold [ ] / : and
    any character a parameter has); the digest keeps ids that clean up alike apart."""
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
    stem = _UNSAFE.sub("_", nodeid.replace("::", "__")).strip("._")[:80]
    return f"{kind}-{stem}-{digest}.png"


def render(
    records: Sequence[Record],
    settings: Mapping[str, Any] | None = None,
    environment: Mapping[str, Any] | None = None,
) -> dict[str, bytes | str]:
    """Every file of the plots directory, by name: one latency PNG per judged test, one of
    SLO attainment against load per test that searched a capacity, the trade-off PNG (when
    a test was judged), and index.html (a text, masked where it is
    written) showing them all beside the verdicts, the settings (the JSON report's) and the
    environment."""
    drawn = judged(records)
    images: dict[str, bytes] = {}
    if drawn:
        images[TRADEOFF_FILE] = png(tradeoff_figure(drawn))
    rule = rank_rule((settings or {}).get("rank_by") or OPTIONS_BY_KEY["rank_by"].default)
    ranked = ranking(drawn, rule)
    if ranked is not None:
        images[RANKING_FILE] = png(ranking_figure(ranked, drawn))
    image_of = {record["test"]: latency_file(record["test"]) for record in drawn}
    for record in drawn:
        images[image_of[record["test"]]] = png(latency_figure(record))
    capacity_of = {
        record["test"]: latency_file(record["test"], "capacity") for record in searched(drawn)
    }
    for record in searched(drawn):
        images[capacity_of[record["test"]]] = png(capacity_figure(record))
    page = index_html(
        drawn,
        images,
        image_of,
        settings,
        environment,
        tradeoff=TRADEOFF_FILE if drawn else None,
        ranked=RANKING_FILE if ranked is not None else None,
        capacity_of=capacity_of,
    )
    return {**images, INDEX_FILE: page}


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


# -- one test: latency distributions -------------------------------------------------------


def budget_lines(record: Record) -> list[tuple[float, str, str]]:
    """(x in ms, legend label, style) of the latency budgets a test judged: the latency_ms
    SLA where it lies, and latency_ratio as the baseline's median times the budget (where
    a candidate median about lands when it meets the ratio: the verdict itself is on the
    median of per-pair ratios)."""
    lines = []
    baseline = record["baseline"].get("figures") or {}
    for verdict in record["verdicts"]:
        budget = verdict["budget"]
        if verdict["limit"] == "latency_ms":
            percentile = (record["candidate"].get("figures") or {}).get(
                "latency_statistic_percentile"
            ) or 95.0
            label = f"latency_ms budget: p{percentile:g} ≤ {number(budget, EXACT, trim=True)} ms"
            lines.append((budget, label, "sla"))
        elif verdict["limit"] == "latency_ratio" and baseline.get("latency_p50_ms"):
            at = baseline["latency_p50_ms"] * budget
            label = (
                f"latency_ratio budget: ≤ {number(budget, EXACT, trim=True)}x the baseline's "
                f"median = {number(at)} ms"
            )
            lines.append((at, label, "ratio"))
    return lines


def latency_axis(values: Sequence[float]) -> tuple[bool, float | None]:
    """(log scale?, right edge when a few outliers would squash the rest, else None).

    Clipped when the slowest run lies further above the 97.5th percentile than the whole
    range below it; log scale when what is left still spans more than 4x (then outliers
    within 4x of the edge are shown after all: a log axis has room for them)."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    low, high = float(data.min()), float(data.max())
    core = float(np.percentile(data, 97.5))
    clip = None
    if len(data) >= 10 and high - core > core - low > 0:
        clip = core + 0.25 * (core - low)
    right = clip if clip is not None else high
    log = low > 0 and right / low > 4
    if log and clip is not None and high <= 4 * clip:
        clip = None
    return log, clip


def latency_figure(record: Record) -> Figure:
    """The baseline's and the candidate's latency per request on one axis: every run as a
    dot, box p25-p75, whiskers p5 to the SLA statistic, the median marked, the SLA line."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = [
        (role, record[role]["figures"])
        for role in ROLES
        if record[role].get("figures") and record[role]["figures"].get("latencies_ms")
    ]
    figure = Figure(figsize=(9.0, 2.3 + 0.9 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    values = [v for _, figures in rows for v in figures["latencies_ms"]]
    if not values:
        axes.set_axis_off()
        axes.set_title(_title(record), fontsize=10, loc="left")
        axes.text(0.5, 0.5, "no latencies were measured", ha="center", transform=axes.transAxes)
        return figure
    percentile = float(rows[0][1].get("latency_statistic_percentile") or 95.0)
    log, clip = latency_axis(values)
    rng = np.random.default_rng(0)
    handles: list[Any] = []
    labels: list[Any] = []
    for y, (role, figures) in zip(range(len(rows) - 1, -1, -1), rows, strict=True):
        data = np.asarray(figures["latencies_ms"], float)
        labels += _distribution(axes, y, data, role, percentile, rng)
        name = model_label(record[role].get("name") or record[role].get("source"))
        label = f"{role}: {name}" if name else role
        handles.append(
            Patch(color=COLORS[role], alpha=0.6, label=f"{label} ({figures['runs']} runs)")
        )
    axes.set_yticks(range(len(rows)), [role for role, _ in reversed(rows)])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    if log:
        log_ticks(axes)
    axes.set_xlim(*_x_limits(values, clip, log))
    drawn = []
    for index, (x, label, style) in enumerate(budget_lines(record)):
        handle, shown = _budget_line(axes, x, label, style, index)
        handles.append(handle)
        if shown:
            drawn.append(x)
    handles.append(_key(percentile))
    if clip is not None:
        _clip_note(axes, values, clip)
    scale = " (log scale)" if log else ""
    axes.set_xlabel(f"end-to-end latency per request (ms){scale}")
    axes.grid(axis="x", alpha=0.3, which="both" if log else "major")
    axes.set_title(_title(record), fontsize=10, loc="left")
    figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    clear_of_lines(figure, axes, labels, drawn)
    return figure


def _key(percentile: float) -> Any:
    from matplotlib.lines import Line2D

    label = f"box p25-p75, whiskers p5-p{percentile:g}, bar = median"
    return Line2D([], [], color="0.3", marker="|", markersize=12, linestyle="-", label=label)


def _clip_note(axes: Axes, values: Sequence[float], clip: float) -> None:
    hidden = sum(v > clip for v in values)
    axes.text(
        0.995,
        0.02,
        f"{hidden} run(s) above {number(clip)} ms not shown (max {number(max(values))} ms)",
        transform=axes.transAxes,
        ha="right",
        va="bottom",
        fontsize=8,
        color="0.3",
    )


def _distribution(
    axes: Axes, y: float, data: Any, role: str, percentile: float, rng: Any
) -> list[Any]:
    """One model's runs: dots, box, whiskers, median; returns its two value labels."""
    import numpy as np
    from matplotlib.patches import Rectangle

    color = COLORS[role]
    p5, q1, median, q3, top = np.percentile(data, [5, 25, 50, 75, percentile])
    jitter = rng.uniform(-0.18, 0.18, size=len(data))
    axes.scatter(data, y + jitter, s=10, color=color, alpha=0.45, linewidths=0, zorder=2)
    axes.add_patch(
        Rectangle(
            (q1, y - 0.25),
            q3 - q1,
            0.5,
            facecolor=color,
            alpha=0.22,
            edgecolor=color,
            linewidth=1.2,
            zorder=3,
        )
    )
    axes.hlines([y, y], [p5, q3], [q1, top], color=color, linewidth=1.2, zorder=3)
    axes.vlines([p5, top], y - 0.12, y + 0.12, color=color, linewidth=1.2, zorder=3)
    axes.vlines(median, y - 0.3, y + 0.3, color=color, linewidth=3, zorder=4)
    return [
        axes.annotate(
            f"p50 {number(median)} ms",
            (median, y + 0.3),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=color,
        ),
        axes.annotate(
            f"p{percentile:g} {number(top)} ms",
            (top, y - 0.12),
            xytext=(3, -1),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=7,
            color=color,
        ),
    ]


def clear_of_lines(figure: Figure, axes: Axes, labels: Sequence[Any], xs: Sequence[float]) -> None:
    """Move each value label that a budget line crosses, or that sticks out of the plot, to
    the side of its point where it is clear (left of it, else right of it); a label no side
    clears goes back above its point."""
    if not labels:
        return
    figure.draw_without_rendering()  # lays the figure out: label extents are final
    frame = axes.get_window_extent()
    lines = [axes.transData.transform((x, 0))[0] for x in xs]

    def crossed(label: Any) -> bool:
        box = label.get_window_extent()
        outside = box.x0 < frame.x0 or box.x1 > frame.x1
        return outside or any(box.x0 - 4 <= line <= box.x1 + 4 for line in lines)

    for label in labels:
        if not crossed(label):
            continue
        _, dy = label.xyann
        for ha, dx in (("right", -4), ("left", 4), ("center", 0)):
            label.set_horizontalalignment(ha)
            label.xyann = (dx, dy)
            if not crossed(label):
                break


def _x_limits(values: Sequence[float], clip: float | None, log: bool) -> tuple[float, float]:
    low, high = min(values), clip if clip is not None else max(values)
    if log:
        return low / 1.3, high * 1.3
    pad = max(0.06 * (high - low), 0.02 * high, 1e-3)
    return max(0.0, low - pad), high + pad


BUDGET_STYLES = {"sla": (SLA_COLOR, "--"), "ratio": (RATIO_COLOR, ":")}


def _budget_line(axes: Axes, budget: float, label: str, style: str, index: int) -> tuple[Any, bool]:
    """A budget as a vertical line; when it lies far right of every run, the axis keeps its
    scale and an arrow at the edge says where the line is. Returns (legend handle, whether
    the line is drawn)."""
    from matplotlib.lines import Line2D

    color, dashes = BUDGET_STYLES[style]
    left, right = axes.get_xlim()
    room = 4.0 if axes.get_xscale() == "log" else 1.5  # how far the axis may grow for it
    drawn = budget <= right * room
    if drawn:
        axes.set_xlim(left, max(right, budget * 1.12))
        axes.axvline(budget, color=color, linestyle=dashes, linewidth=1.5, zorder=1)
    else:
        axes.text(
            0.995,
            0.97 - 0.08 * index,
            f"budget {number(budget)} ms →",
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color=color,
        )
    return Line2D([], [], color=color, linestyle=dashes, label=label), drawn


def _title(record: Record) -> str:
    test = "\n".join(textwrap.wrap(record["test"], 95, break_on_hyphens=False))
    verdicts = record["verdicts"]
    failed = sum(v["failed"] for v in verdicts)
    state = f"{failed} of {len(verdicts)} limits over budget" if failed else "within budget"
    limits = ", ".join(f"{v['limit']} {v['outcome']}{observed_text(v)}" for v in verdicts)
    detail = "\n".join(textwrap.wrap(f"{state}: {limits}", 110))
    return f"{test}\n{detail}"


# -- every test: the trade-off -------------------------------------------------------------


def short_test_names(records: Sequence[Record], limit: int = 48) -> list[str]:
    """Short names of the tests: without the file when that stays unambiguous."""
    short = [r["test"].split("::", 1)[-1] for r in records]
    names = short if len(set(short)) == len(short) else [r["test"] for r in records]
    return [n if len(n) <= limit else "…" + n[-(limit - 1) :] for n in names]


def _panels(records: Sequence[Record]) -> list[tuple[str, str, str, float]]:
    """(figure key, axis label, panel title, scale): accuracy when a test scored it; cost
    (per 1,000 requests: readable numbers) when prices are set, else output tokens. Never
    an empty panel."""

    def present(key: str) -> bool:
        return any(
            (r[role].get("figures") or {}).get(key) is not None for r in records for role in ROLES
        )

    panels = []
    if present("accuracy"):
        panels.append(("accuracy", "accuracy (share of answers correct)", "accuracy", 1.0))
    if present("cost_usd"):
        panels.append(("cost_usd", "cost per 1,000 requests (US$)", "cost", 1000.0))
    else:
        panels.append(("output_tokens", "output tokens per request (mean)", "output tokens", 1.0))
    return panels


def _point(figures: Mapping[str, Any] | None, key: str, scale: float) -> tuple[float, float] | None:
    if not figures or figures.get(key) is None or figures.get("latency_p50_ms") is None:
        return None
    return float(figures["latency_p50_ms"]), float(figures[key]) * scale


def tradeoff_figure(records: Sequence[Record]) -> Figure:
    """Per judged test, baseline (hollow) -> candidate (filled) on latency p50 against
    accuracy, and against cost (or output tokens when unpriced)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.transforms import offset_copy

    panels = _panels(records)
    labels = short_test_names(records)
    numbered = len(records) > 6  # colours alone no longer tell that many tests apart
    palette = colormaps["tab10" if len(records) <= 10 else "tab20"]
    colors = [palette(i % palette.N) for i in range(len(records))]
    height = max(4.2, 1.6 + 0.24 * len(records))
    figure = Figure(figsize=(4.6 * len(panels) + 3.4, height), layout="constrained")
    latencies = [
        p50
        for r in records
        for role in ROLES
        if (p50 := (r[role].get("figures") or {}).get("latency_p50_ms"))
    ]
    log = min(latencies) > 0 and max(latencies) / min(latencies) > 10
    for index, (key, axis_label, title, scale) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        shown, tags = 0, {}
        offsets = _apart(records, key, scale)
        for position, (record, color) in enumerate(zip(records, colors, strict=True), 1):
            transform = offset_copy(axes.transData, figure, y=offsets[position - 1], units="points")
            drawn, end = _arrow(axes, record, key, scale, color, transform)
            shown += drawn
            if numbered and end is not None:
                # Tests that land on the same point share one label: "3, 12".
                spot = (float(f"{end[0]:.3g}"), float(f"{end[1]:.3g}"))
                tags.setdefault(spot, []).append(str(position))
        for spot, numbers in tags.items():
            axes.annotate(
                ", ".join(numbers), spot, xytext=(5, 4), textcoords="offset points", fontsize=7
            )
        if log:
            log_ticks(axes)
        axes.autoscale_view()
        axes.margins(0.12)
        if key == "accuracy":
            axes.set_ylim(-0.03, 1.03)
        else:  # costs and token counts from 0: a 5% change should look like one
            axes.set_ylim(bottom=0)
        axes.set_xlabel("latency p50 per request (ms)" + (" (log scale)" if log else ""))
        axes.set_ylabel(axis_label)
        axes.set_title(
            f"{title} vs latency ({shown} of {plural(len(records), 'test')})", fontsize=10
        )
        axes.grid(alpha=0.3, which="both" if log else "major")
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markerfacecolor="white",
            markeredgecolor="0.2",
            label="baseline",
        ),
        Line2D([], [], marker="o", linestyle="none", color="0.2", label="candidate"),
        *(
            Line2D([], [], marker="o", color=color, label=f"{n}  {label}" if numbered else label)
            for n, (label, color) in enumerate(zip(labels, colors, strict=True), 1)
        ),
    ]
    figure.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    figure.suptitle(f"Trade-off across {plural(len(records), 'judged test')}: baseline → candidate")
    return figure


def _apart(records: Sequence[Record], key: str, scale: float) -> list[float]:
    """A vertical offset in points per test, so that tests whose points coincide (two
    tests with the same accuracy and latency) are drawn side by side, not on top of each
    other: 0 for a test alone, a few points up or down for each of a group."""
    groups: dict[Any, list[int]] = {}
    for index, record in enumerate(records):
        points = [_point(record[role].get("figures"), key, scale) for role in ROLES]
        spot = tuple(
            None if point is None else tuple(float(f"{value:.3g}") for value in point)
            for point in points
        )
        groups.setdefault(spot, []).append(index)
    offsets = [0.0] * len(records)
    for members in groups.values():
        for rank, index in enumerate(members):
            offsets[index] = (rank - (len(members) - 1) / 2) * 7.0
    return offsets


def _arrow(
    axes: Axes, record: Record, key: str, scale: float, color: Any, transform: Any
) -> tuple[int, tuple[float, float] | None]:
    """Draw one test's two points and the arrow between them (in `transform`: data
    coordinates, moved apart from tests on the same spot): (1 when anything was drawn,
    the candidate's point)."""
    start = _point(record["baseline"].get("figures"), key, scale)
    end = _point(record["candidate"].get("figures"), key, scale)
    known = [point for point in (start, end) if point is not None]
    if known:  # drawn in an offset transform, which autoscaling does not see
        axes.update_datalim(known)
    if start is not None:
        axes.scatter(
            *start,
            s=55,
            facecolors="white",
            edgecolors=[color],
            linewidths=1.8,
            zorder=3,
            transform=transform,
        )
    if end is not None:
        axes.scatter(*end, s=55, color=[color], zorder=4, transform=transform)
    if start is not None and end is not None and start != end:
        axes.annotate(
            "",
            xy=end,
            xytext=start,
            xycoords=transform,
            textcoords=transform,
            zorder=2,
            arrowprops={
                "arrowstyle": "-|>",
                "color": color,
                "linewidth": 1.3,
                "shrinkA": 5,
                "shrinkB": 5,
            },
        )
    return int(start is not None or end is not None), end
