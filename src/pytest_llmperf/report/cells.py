"""What every report writes alike, read from records (judge/records.py) and metric rows:
a figure in its unit, the change between the models, what was held against a budget, the
figures of both models side by side, and the remedies of a test's failed limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_llmperf.judge.reading import observed_text
from pytest_llmperf.metrics import DOLLARS, METRICS, METRICS_BY_NAME, Metric, Unit
from pytest_llmperf.outcomes import outcome_of

Record = Mapping[str, Any]
ROLES = ("baseline", "candidate")


def verdict_unit(verdict: Mapping[str, Any]) -> Unit:
    """The unit of a verdict's baseline and candidate figures: its metric's."""
    return METRICS_BY_NAME[verdict["metric"]].unit


def change_text(baseline: float | None, candidate: float | None) -> str:
    if baseline is None or candidate is None or baseline == 0:
        return ""
    return f"{(candidate - baseline) / baseline:+.0%}"


def verdict_row(verdict: Mapping[str, Any]) -> tuple[str, ...]:
    """limit, baseline, candidate, budget, verdict: the cells of a verdict record."""
    unit = verdict_unit(verdict)
    return (
        verdict["limit"],
        unit.format(verdict["baseline"]),
        unit.format(verdict["candidate"]),
        verdict["budget_text"],
        outcome_of(verdict).value + observed_text(verdict),
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


def relative_path(path: str, rootdir: str | None) -> str:
    """`path` relative to the repository (pytest's rootdir) when it lies inside it."""
    if rootdir and Path(path).is_relative_to(rootdir):
        return Path(path).relative_to(rootdir).as_posix() or "."
    return path


def baseline_source(
    source: str, settings: Mapping[str, Any], quote: Callable[[str], str] = str
) -> str:
    """A record's baseline source for a report: each test's snapshot file becomes the
    snapshot directory, relative to the repository (`quote`d), so that tests judged
    against snapshots share one line."""
    snapshot_dir = settings.get("snapshot_dir")
    if not snapshot_dir:
        return source
    shown = quote(relative_path(snapshot_dir, settings.get("rootdir")).rstrip("/") + "/")
    one_file = re.escape(snapshot_dir) + r"[/\\].*?\.json(?= \()"
    return re.sub(f"snapshot {one_file}", lambda _: f"snapshots in {shown}", source)


_SETTLED_LIVE = re.compile(r"(?P<limits>[a-z_]+(?:, [a-z_]+)*) settled (?P<how>against .+)")


def models_judged(
    records: Sequence[Record], settings: Mapping[str, Any], quote: Callable[[str], str] = str
) -> tuple[list[str], list[str]]:
    """The candidates and the parts of the baselines' sources of the judged tests, each
    once: the limits settled live against the same model are said in one part."""
    judged = [record for record in records if record["judged"]]
    candidates = sorted({record["candidate"]["name"] for record in judged})
    sources: set[str] = set()
    settled: dict[str, set[str]] = {}  # "against MODEL ..." -> the limits settled so
    for record in judged:
        for part in baseline_source(record["baseline"]["source"], settings, quote).split("; "):
            live = _SETTLED_LIVE.match(part)
            if live:
                settled.setdefault(live["how"], set()).update(live["limits"].split(", "))
            else:
                sources.add(part)
    live_parts = [f"{', '.join(sorted(limits))} settled {how}" for how, limits in settled.items()]
    return candidates, sorted(sources) + sorted(live_parts)


def failing_first(records: Sequence[Record]) -> list[Record]:
    """The judged records, failed tests first (in their order), then the rest."""
    return sorted((r for r in records if r["judged"]), key=lambda record: not record["failed"])
