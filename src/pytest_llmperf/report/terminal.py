"""Text for the terminal: a table per judged test and a summary of the session."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from pytest_llmperf.budget import Kind, Outcome, Verdict, format_figure
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
    yield from table([_HEADER, *verdict_rows(outcome.verdicts)])
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
                f"{_plural(not_compared, 'limit')} not compared: snapshots from other hardware "
                "(see each test's note)"
            )
    if written:
        yield f"{_plural(len(written), 'snapshot')} written under {snapshot_dir}"
