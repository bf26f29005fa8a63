"""What every report writes alike, read from records (judge/records.py) and metric rows:
a figure in its unit, the change between the models, what was held against a budget, the
figures of both models side by side, and the remedies of a test's failed limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmperf.limits import Kind
from pytest_llmperf.metrics import DOLLARS, METRICS, METRICS_BY_NAME, Metric, Unit

Record = Mapping[str, Any]
ROLES = ("baseline", "candidate")


def verdict_unit(verdict: Mapping[str, Any]) -> Unit:
    """The unit of a verdict's baseline and candidate figures: its metric's."""
    return METRICS_BY_NAME[verdict["metric"]].unit


def change_text(baseline: float | None, candidate: float | None) -> str:
    if baseline is None or candidate is None or baseline == 0:
        return ""
    return f"{(candidate - baseline) / baseline:+.0%}"


def observed_text(verdict: Mapping[str, Any]) -> str:
    """What was held against the budget, from a verdict record: ' 5.61x [4.90, 6.30]'."""
    observed, interval = verdict["observed"], verdict["interval"]
    if observed is None:
        return ""
    if verdict["kind"] == Kind.RATIO.value:
        if interval is not None:
            return f" {observed:.2f}x [{interval['low']:.2f}, {_upper(interval, '.2f')}]"
        return f" {observed:.2f}x"
    if verdict["kind"] == Kind.DROP.value:
        return f" (drop {observed:.3f})"
    if interval is not None:
        return f" [{interval['low']:.1f}, {_upper(interval, '.1f')}]"
    return ""


def _upper(interval: Mapping[str, Any], spec: str) -> str:
    """An interval's upper end; 'open' where too few runs bound it (a percentile SLA)."""
    return "open" if interval["high"] is None else format(interval["high"], spec)


def verdict_row(verdict: Mapping[str, Any]) -> tuple[str, ...]:
    """limit, baseline, candidate, budget, verdict: the cells of a verdict record."""
    unit = verdict_unit(verdict)
    return (
        verdict["limit"],
        unit.format(verdict["baseline"]),
        unit.format(verdict["candidate"]),
        verdict["budget_text"],
        verdict["outcome"] + observed_text(verdict),
    )


def figures_of(record: Record, role: str) -> Mapping[str, Any]:
    return record[role].get("figures") or {}


def figure_values(
    record: Record, metrics: Sequence[Metric] = METRICS
) -> list[tuple[str, Unit, float | None, float | None]]:
    """(label, unit, baseline, candidate) of the metrics either model has a figure for;
    the monthly cost comes whenever a request volume is set."""
    both = [figures_of(record, role) for role in ROLES]
    values = [
        (metric.label, metric.unit, both[0].get(metric.key), both[1].get(metric.key))
        for metric in metrics
    ]
    volume = record["requests_per_month"]
    if volume:
        monthly = [None if f.get("cost_usd") is None else f["cost_usd"] * volume for f in both]
        values.append((f"cost/month ({volume:,} requests)", DOLLARS, *monthly))
    return [value for value in values if value[2] is not None or value[3] is not None]


def figure_rows(record: Record, metrics: Sequence[Metric] = METRICS) -> list[tuple[str, ...]]:
    """figure, baseline, candidate, change: the cells of a record's figures."""
    return [
        (label, unit.format(baseline), unit.format(candidate), change_text(baseline, candidate))
        for label, unit, baseline, candidate in figure_values(record, metrics)
    ]


SUMMARY_METRICS = tuple(metric for metric in METRICS if metric.in_summary)


def remedies(record: Record, *, failed_only: bool = True) -> list[tuple[str, list[str]]]:
    """(remedy, the limits it answers) for a test's verdicts, one entry per remedy."""
    grouped: dict[str, list[str]] = {}
    for verdict in record["verdicts"]:
        if verdict["remedy"] and (verdict["failed"] or not failed_only):
            grouped.setdefault(verdict["remedy"], []).append(verdict["limit"])
    return list(grouped.items())


def failing_first(records: Sequence[Record]) -> list[Record]:
    """The judged records, failed tests first (in their order), then the rest."""
    return sorted((r for r in records if r["judged"]), key=lambda record: not record["failed"])
