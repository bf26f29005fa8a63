"""Text for the terminal: a table per judged test and a summary of the session."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_llmperf.judge.budget import Kind, Outcome, Verdict, format_figure
from pytest_llmperf.judge.records import outcome_record, verdict_record
from pytest_llmperf.results import TokenCount
from pytest_llmperf.session.session import TestOutcome
from pytest_llmperf.text import plural

METRIC_UNITS = {
    "latency": "ms",
    "ttft": "ms",
    "output_tokens": "tok",
    "cost": "$",
    "memory": "MB",
    "accuracy": "",
    "errors": "",
    "throughput": "req/s",
}
_HEADER = ("limit", "baseline", "candidate", "budget", "verdict")


MODE_TEXT = {
    "natural": "natural mode: answers end where the model stops",
    "fixed_length": "fixed_length mode: every answer is max_new_tokens long",
}


def observed_text(verdict: Mapping[str, Any]) -> str:
    """What was held against the budget, from a verdict record: ' 5.61x [4.90, 6.30]'."""
    observed, interval = verdict["observed"], verdict["interval"]
    if observed is None:
        return ""
    if verdict["kind"] == Kind.RATIO.value:
        if interval is not None:
            return f" {observed:.2f}x [{interval['low']:.2f}, {interval['high']:.2f}]"
        return f" {observed:.2f}x"
    if verdict["kind"] == Kind.DROP.value:
        return f" (drop {observed:.3f})"
    if interval is not None:
        return f" [{interval['low']:.1f}, {interval['high']:.1f}]"
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
    if interval.paired:
        what = "pairs"
    elif verdict.noise[0] is not None:
        what = "runs per model (unpaired)"
    else:
        what = "runs"
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


def verdict_row(verdict: Mapping[str, Any]) -> tuple[str, ...]:
    """limit, baseline, candidate, budget, verdict: the cells of a verdict record."""
    unit = METRIC_UNITS[verdict["metric"]]
    return (
        verdict["limit"],
        format_figure(verdict["baseline"], unit),
        format_figure(verdict["candidate"], unit),
        verdict["budget_text"],
        verdict["outcome"] + observed_text(verdict),
    )


def verdict_rows(verdicts: Sequence[Verdict]) -> list[tuple[str, ...]]:
    return [verdict_row(verdict_record(verdict)) for verdict in verdicts]


# (label, unit, key in a record's figures): shown side by side for every judged test.
Figure = tuple[str, str, str]
FIGURES: tuple[Figure, ...] = (
    ("accuracy", "", "accuracy"),
    ("latency p50", "ms", "latency_p50_ms"),
    ("latency p95", "ms", "latency_p95_ms"),
    ("ttft p50", "ms", "ttft_p50_ms"),
    ("output tokens", "tok", "output_tokens"),
    ("cost/request", "$", "cost_usd"),  # None when no prices are set: 0 would read as free
    ("peak memory", "MB", "peak_memory_mb"),
    # Only for requests sent under load (an endpoint model's concurrency or rate).
    ("latency p99", "ms", "latency_p99_ms_under_load"),
    ("requests/s", "req/s", "requests_per_s"),
    ("output tokens/s", "tok/s", "output_tokens_per_s_under_load"),
    ("error rate", "", "error_rate"),
)
SUMMARY_FIGURES = ("accuracy", "latency p50", "output tokens", "cost/request")


def change_text(baseline: float | None, candidate: float | None) -> str:
    if baseline is None or candidate is None or baseline == 0:
        return ""
    return f"{(candidate - baseline) / baseline:+.0%}"


def figure_values(
    record: Mapping[str, Any], names: Sequence[str] | None = None
) -> list[tuple[str, str, float | None, float | None]]:
    """(label, unit, baseline, candidate) of a record's figures that either model has;
    `names` picks some labels; the monthly cost comes whenever a volume is set."""
    both = [(record[role]["figures"] or {}) for role in ("baseline", "candidate")]
    values = [
        (label, unit, both[0].get(key), both[1].get(key))
        for label, unit, key in FIGURES
        if names is None or label in names
    ]
    volume = record["requests_per_month"]
    if volume:
        monthly = [None if f.get("cost_usd") is None else f["cost_usd"] * volume for f in both]
        values.append((f"cost/month ({volume:,} requests)", "$", *monthly))
    return [value for value in values if value[2] is not None or value[3] is not None]


def record_figure_rows(
    record: Mapping[str, Any], names: Sequence[str] | None = None
) -> list[tuple[str, ...]]:
    """figure, baseline, candidate, change: the cells of a record's figures."""
    return [
        (
            label,
            format_figure(baseline, unit),
            format_figure(candidate, unit),
            change_text(baseline, candidate),
        )
        for label, unit, baseline, candidate in figure_values(record, names)
    ]


def figure_rows(outcome: TestOutcome, names: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """Figures of both models and the change; `names` picks some (monthly cost always)."""
    return record_figure_rows(outcome_record(outcome), names)


def table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> Iterator[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        yield (
            indent
            + "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ).rstrip()
        )


def _served_lines(outcome: TestOutcome) -> Iterator[str]:
    """For endpoint models: where token counts came from, and the load they ran under."""
    for role, result in (("candidate", outcome.candidate), ("baseline", outcome.baseline)):
        if result is None:
            continue
        if counted := result.token_count.describe():
            yield f"  {role}: {counted}"
        if result.load is not None:
            yield f"  {role}: {result.load.describe()}"
            for example in result.load.error_examples:
                yield f"    failed request: {example}"


def outcome_lines(outcome: TestOutcome) -> Iterator[str]:
    failed = sum(verdict.failed for verdict in outcome.verdicts)
    state = f"{failed} of {len(outcome.verdicts)} limits over budget" if failed else "within budget"
    yield f"assert_within_budget: {state} ({MODE_TEXT[outcome.mode]})"
    yield f"  candidate: {outcome.candidate_name}"
    yield f"  baseline:  {outcome.baseline_source}"
    yield from _served_lines(outcome)
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


def _token_count_lines(records: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Where served models' token counts came from, and whether the tokenizer agreed."""
    lines = []
    for record in records:
        for role in ("candidate", "baseline"):
            counted = (record[role]["figures"] or {}).get("token_count")
            if counted and (text := TokenCount(**counted).describe()):
                lines.append(f"  {record['test']}: {role} {text}")
    if lines:
        yield "token counts of served models"
        yield from lines


def summary_lines(records: Sequence[Mapping[str, Any]], snapshot_dir: Path) -> Iterator[str]:
    """The session summary from report records (under xdist, the workers' records):
    every judged test and its limits (housekeeping.py counts the snapshots)."""
    judged = [record for record in records if record["judged"]]
    if judged:
        failed = sum(record["failed"] for record in judged)
        yield f"{plural(len(judged), 'test')} judged, {failed} over budget"
        rows: list[tuple[str, ...]] = [("test", "mode", *_HEADER)]
        for record in sorted(judged, key=lambda r: not r["failed"]):
            for verdict in record["verdicts"]:
                rows.append((record["test"], record["mode"], *verdict_row(verdict)))
        yield from table(rows)
        not_compared = sum(
            verdict["outcome"] == Outcome.NOT_COMPARED.value
            for record in judged
            for verdict in record["verdicts"]
        )
        if not_compared:
            yield (
                f"{plural(not_compared, 'limit')} not compared: a snapshot from other hardware, "
                "or token limits in fixed_length mode (see each test's note)"
            )
        figures: list[tuple[str, ...]] = [("test", "figure", "baseline", "candidate", "change")]
        for record in judged:
            figures.extend(
                (record["test"], *row) for row in record_figure_rows(record, SUMMARY_FIGURES)
            )
        yield "baseline and candidate side by side"
        yield from table(figures)
        yield from _token_count_lines(judged)
