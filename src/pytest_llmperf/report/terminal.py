"""Text for the terminal: a table per judged test and a summary of the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pytest_llmperf.budget import Kind, Outcome, Verdict, format_figure
from pytest_llmperf.results import GenerationResult
from pytest_llmperf.session import TestOutcome

METRIC_UNITS = {
    "latency": "ms",
    "ttft": "ms",
    "output_tokens": "tok",
    "cost": "$",
    "memory": "MB",
    "accuracy": "",
}
_HEADER = ("limit", "baseline", "candidate", "budget", "verdict")


MODE_TEXT = {
    "natural": "natural mode: answers end where the model stops",
    "fixed_length": "fixed_length mode: every answer is max_new_tokens long",
}


def _observed(verdict: Verdict) -> str:
    if verdict.observed is None:
        return ""
    spec = verdict.limit.spec
    interval = verdict.interval
    if spec.kind is Kind.RATIO:
        if interval is not None:
            return f" {verdict.observed:.2f}x [{interval.low:.2f}, {interval.high:.2f}]"
        return f" {verdict.observed:.2f}x"
    if spec.kind is Kind.DROP:
        return f" (drop {verdict.observed:.3f})"
    if interval is not None:
        return f" [{interval.low:.1f}, {interval.high:.1f}]"
    return ""


def _statistics_line(verdict: Verdict) -> str:
    """Interval, sample count, noise and what decided: for verdicts on noisy timings."""
    interval = verdict.interval
    if interval is None:
        return ""
    unit = (
        "x"
        if verdict.limit.spec.kind is Kind.RATIO
        else f" {METRIC_UNITS[verdict.limit.spec.metric]}"
    )
    what = "pairs" if verdict.noise[0] is not None else "runs"
    noise = ", ".join(
        f"{name} {cv:.0%}"
        for name, cv in zip(("baseline", "candidate"), verdict.noise, strict=True)
        if cv is not None
    )
    decided = verdict.decided_by or "nothing yet"
    return (
        f"  {verdict.limit.name}: {interval.estimate:.3g}{unit}, {interval.confidence:.2%} "
        f"interval [{interval.low:.3g}, {interval.high:.3g}] from {interval.samples} {what}; "
        f"noise (CV) {noise}; decided by {decided}"
    )


def verdict_rows(verdicts: Sequence[Verdict]) -> list[tuple[str, ...]]:
    rows = []
    for verdict in verdicts:
        unit = METRIC_UNITS[verdict.limit.spec.metric]
        rows.append(
            (
                verdict.limit.name,
                format_figure(verdict.baseline, unit),
                format_figure(verdict.candidate, unit),
                verdict.limit.describe(),
                verdict.outcome.value + _observed(verdict),
            )
        )
    return rows


def _cost(result: GenerationResult) -> float | None:
    """Cost per request, None when no prices are set (0 would read as free)."""
    priced = result.pricing.input_per_1m or result.pricing.output_per_1m
    return result.cost_usd if priced else None


Figure = tuple[str, str, Callable[[GenerationResult], float | None]]
# Shown side by side for every judged test, whatever its limits.
FIGURES: tuple[Figure, ...] = (
    ("accuracy", "", lambda r: r.accuracy),
    ("latency p50", "ms", lambda r: r.latency_ms),
    ("latency p95", "ms", lambda r: r.p95_latency_ms),
    ("ttft p50", "ms", lambda r: r.ttft_ms),
    ("output tokens", "tok", lambda r: r.output_tokens),
    ("cost/request", "$", _cost),
    ("peak memory", "MB", lambda r: r.peak_memory_mb),
)
SUMMARY_FIGURES = ("accuracy", "latency p50", "output tokens", "cost/request")


def _monthly(volume: int) -> Figure:
    def cost(result: GenerationResult) -> float | None:
        per_request = _cost(result)
        return None if per_request is None else per_request * volume

    return (f"cost/month ({volume:,} requests)", "$", cost)


def _change(baseline: float | None, candidate: float | None) -> str:
    if baseline is None or candidate is None or baseline == 0:
        return ""
    return f"{(candidate - baseline) / baseline:+.0%}"


def figure_rows(outcome: TestOutcome, names: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """Figures of both models and the change; `names` picks some (monthly cost always)."""
    figures = [figure for figure in FIGURES if names is None or figure[0] in names]
    if outcome.requests_per_month:
        figures.append(_monthly(outcome.requests_per_month))
    rows: list[tuple[str, ...]] = []
    for name, unit, read in figures:
        baseline, candidate = (
            None if result is None else read(result)
            for result in (outcome.baseline, outcome.candidate)
        )
        if baseline is not None or candidate is not None:
            rows.append(
                (
                    name,
                    format_figure(baseline, unit),
                    format_figure(candidate, unit),
                    _change(baseline, candidate),
                )
            )
    return rows


def table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> Iterator[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        yield (
            indent
            + "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ).rstrip()
        )


def outcome_lines(outcome: TestOutcome) -> Iterator[str]:
    failed = sum(verdict.failed for verdict in outcome.verdicts)
    state = f"{failed} of {len(outcome.verdicts)} limits over budget" if failed else "within budget"
    yield f"assert_within_budget: {state} ({MODE_TEXT[outcome.mode]})"
    yield f"  candidate: {outcome.candidate_name}"
    yield f"  baseline:  {outcome.baseline_source}"
    if outcome.extra_seconds >= 0.1:
        yield f"  more runs to settle inconclusive verdicts took {outcome.extra_seconds:.1f} s"
    yield from table([_HEADER, *verdict_rows(outcome.verdicts)])
    yield from table([("figure", "baseline", "candidate", "change"), *figure_rows(outcome)])
    for verdict in outcome.verdicts:
        if line := _statistics_line(verdict):
            yield line
    for verdict in outcome.verdicts:
        if verdict.note:
            yield f"  {verdict.limit.name}: {verdict.note}"
    remedies: dict[str, list[str]] = {}
    for verdict in outcome.verdicts:
        if verdict.remedy:
            remedies.setdefault(verdict.remedy, []).append(verdict.limit.name)
    for remedy, names in remedies.items():
        yield f"  remedy for {', '.join(names)}: {remedy}"
    if (
        outcome.failed
        and outcome.snapshot_written is None
        and outcome.baseline_source.startswith("snapshot")
    ):
        yield (
            "  If the change is intended, refresh the snapshot: "
            "pytest --llm-baseline=MODEL --llm-update"
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary_lines(outcomes: Sequence[TestOutcome], snapshot_dir: Path) -> Iterator[str]:
    """The session summary: every judged test, its limits, and the snapshots written."""
    judged = [outcome for outcome in outcomes if outcome.verdicts]
    written = [outcome.snapshot_written for outcome in outcomes if outcome.snapshot_written]
    if judged:
        failed = sum(outcome.failed for outcome in judged)
        yield f"{_plural(len(judged), 'test')} judged, {failed} over budget"
        rows: list[tuple[str, ...]] = [("test", "mode", *_HEADER)]
        for outcome in sorted(judged, key=lambda o: not o.failed):
            for row in verdict_rows(outcome.verdicts):
                rows.append((outcome.nodeid, outcome.mode, *row))
        yield from table(rows)
        not_compared = sum(
            v.outcome is Outcome.NOT_COMPARED for outcome in judged for v in outcome.verdicts
        )
        if not_compared:
            yield (
                f"{_plural(not_compared, 'limit')} not compared: a snapshot from other hardware, "
                "or token limits in fixed_length mode (see each test's note)"
            )
        figures: list[tuple[str, ...]] = [("test", "figure", "baseline", "candidate", "change")]
        for outcome in judged:
            figures.extend((outcome.nodeid, *row) for row in figure_rows(outcome, SUMMARY_FIGURES))
        yield "baseline and candidate side by side"
        yield from table(figures)
    if written:
        yield f"{_plural(len(written), 'snapshot')} written under {snapshot_dir}"
