"""Text for the terminal: a failing test's message and the session summary, from records.

What the wiring prints comes from `failure_message` and `session_lines`, both masked
(redaction.py) whatever the records hold."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from pytest_llmperf.limits import Kind
from pytest_llmperf.metrics import METRICS_BY_NAME
from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.redaction import redact
from pytest_llmperf.report.cells import (
    SUMMARY_METRICS,
    Record,
    figure_rows,
    observed_text,
    remedies,
    verdict_row,
    verdict_unit,
)
from pytest_llmperf.report.ranking import ranking, table_rows, verdict_lines
from pytest_llmperf.results import CapacityFigures, LoadFigures, TokenCount
from pytest_llmperf.text import interval_text, number, plural, quoted

_HEADER = ("limit", "baseline", "candidate", "budget", "verdict")

MODE_TEXT = {
    "natural": "natural mode: answers end where the model stops",
    "fixed_length": "fixed_length mode: every answer is max_new_tokens long",
}


def _statistics_lines(verdict: Mapping[str, Any]) -> Iterator[str]:
    """For a verdict on noisy timings: the estimate and its interval, the samples it rests
    on, the noise seen and what decided it; then, when the confidence is a share of the
    session's, where that share came from."""
    interval = verdict["interval"]
    if interval is None:
        return
    if verdict.get("quality") is None:
        yield from _timing_line(verdict)
    split = interval.get("confidence_split")
    if split and split["decisions"] * split["looks"] > 1:
        if verdict.get("quality") is None and split["looks"] > 1:
            looks = (
                f", with up to {split['looks']} looks at each as runs are added "
                "(Pocock's boundary: stricter at each look, not split over them)"
            )
        elif verdict.get("quality") is None:
            looks = ""
        else:
            looks = ", this one taken once (more runs add no questions)"
        yield (
            f"    {interval['confidence']:.2%}: the session's "
            f"{split['false_failure_rate']:.0%} chance of failing a good candidate, shared by "
            f"{plural(split['decisions'], 'decision')}{looks}"
        )


def _timing_line(verdict: Mapping[str, Any]) -> Iterator[str]:
    """A timing verdict's estimate, interval, noise and what decided it (a quality
    verdict's words are in its note)."""
    interval = verdict["interval"]
    ratio = Kind(verdict["kind"]).is_ratio
    symbol = verdict_unit(verdict).symbol
    unit = "x" if ratio else f" {symbol}" if symbol else ""
    estimate = f"{number(interval['estimate'])}{unit}"
    bounds = interval_text(interval["low"], interval["high"])
    widened = interval.get("widened_by") or 0.0
    if widened and interval.get("sampling") == "pairs":
        bounds += (
            f" (widened by {widened:.1%} each side for where each model's weights lie in "
            "memory, placed afresh every pass)"
        )
    elif widened:
        bounds += f" (widened by {widened:.0%} each side for the shift between processes)"
    noise = ", ".join(
        f"{role} {cv:.0%}"
        for role in ("baseline", "candidate")
        if (cv := verdict["noise_cv"][role]) is not None
    )
    decided = verdict["decided_by"] or "nothing yet"
    noise = f"noise (CV) {noise}; " if noise else ""
    yield (
        f"  {verdict['limit']}: {estimate}, {_what_estimate(verdict)}; "
        f"{interval['confidence']:.2%} interval {bounds}; {noise}decided by {decided}"
    )


def _what_estimate(verdict: Mapping[str, Any]) -> str:
    """What the estimate is, and the runs on each side it was taken over."""
    interval = verdict["interval"]
    sampling, samples = interval.get("sampling"), interval["samples"]
    base = interval.get("baseline_samples")
    if sampling == "pairs":
        return f"the median of {samples} per-pair ratios (both models run alternately)"
    if sampling == "snapshot":
        return (
            f"the ratio of medians of {base} snapshot runs (recorded in another process) and "
            f"{samples} runs today"
        )
    if sampling == "requests":
        return f"the share of {plural(samples, 'request')} that met the SLO"
    if sampling == "unpaired":
        return f"the ratio of medians of {base} baseline and {samples} candidate runs, unpaired"
    return f"over {plural(samples, 'run')}"


def table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> Iterator[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        yield (
            indent
            + "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ).rstrip()
        )


def _served_lines(record: Record) -> Iterator[str]:
    """For endpoint models: where token counts came from, and the load they ran under."""
    for role in ("candidate", "baseline"):
        figures = record[role]["figures"]
        if figures is None:
            continue
        if counted := TokenCount(**figures["token_count"]).describe():
            yield f"  {role}: {counted}"
        if figures["load"] is not None:
            load = dict(figures["load"])
            load["error_examples"] = tuple(load["error_examples"])
            load["client_lags_ms"] = tuple(figures.get("client_lags_ms") or ())
            yield f"  {role}: {LoadFigures(**load).describe()}"
            for example in load["error_examples"]:
                yield f"    failed request: {example}"
        if figures.get("capacity") is not None:
            yield f"  {role}: {CapacityFigures.from_json(figures['capacity']).describe()}"


def failure_lines(record: Record) -> Iterator[str]:
    """A judged test's verdicts explained: what pytest prints when the test fails."""
    verdicts = record["verdicts"]
    failed = sum(verdict["failed"] for verdict in verdicts)
    state = f"{failed} of {len(verdicts)} limits over budget" if failed else "within budget"
    yield f"assert_within_budget: {state} ({MODE_TEXT[record['mode']]})"
    yield f"  candidate: {record['candidate']['name']}"
    yield f"  baseline:  {record['baseline']['source']}"
    yield from _served_lines(record)
    if record["extra_seconds"] >= 0.1:
        yield f"  more runs to settle inconclusive verdicts took {record['extra_seconds']:.1f} s"
    yield from table([_HEADER, *(verdict_row(verdict) for verdict in verdicts)])
    yield from table([("figure", "baseline", "candidate", "change"), *figure_rows(record)])
    for verdict in verdicts:
        yield from _statistics_lines(verdict)
    for verdict in verdicts:
        if verdict["note"]:
            yield f"  {verdict['limit']}: {verdict['note']}"
    for remedy, names in remedies(record, failed_only=False):
        yield f"  remedy for {', '.join(names)}: {remedy}"
    yield from _changed_answer_lines(record)
    yield from _wrong_answer_lines(record)
    if (
        record["failed"]
        and record["snapshot_written"] is None
        and record["baseline"]["source"].startswith("snapshot")
    ):
        yield (
            "  If the change is intended, refresh the snapshot: "
            "pytest --llm-baseline=MODEL --llm-update"
        )


WRONG_ANSWERS_SHOWN = 3  # in the terminal; the JSON and Markdown reports hold every one


def _wrong_answer_lines(record: Record) -> Iterator[str]:
    """When an accuracy limit failed: the first few prompts the candidate answered wrong."""
    wrong = record.get("wrong_answers") or []
    if not wrong or not any(v["failed"] and v["metric"] == "accuracy" for v in record["verdicts"]):
        return
    prompts = record["candidate"]["figures"]["prompts"]
    shown = wrong[:WRONG_ANSWERS_SHOWN]
    more = _how_many_shown(len(shown), len(wrong))
    yield f"  wrong answers: {len(wrong)} of {plural(prompts, 'prompt')}{more}"
    for position, answer in enumerate(shown, 1):
        yield f"    {position}. prompt:    {quoted(answer['prompt'])}"
        yield f"       expected:  {quoted(answer['expected'] or '')}"
        yield f"       candidate: {quoted(answer['candidate'])}"
        if answer["baseline"] is not None:
            right = {True: " (right)", False: " (wrong too)"}.get(answer["baseline_correct"], "")
            yield f"       baseline:  {quoted(answer['baseline'])}{right}"


def _how_many_shown(shown: int, total: int) -> str:
    if total <= shown:
        return ""
    return f" ({shown} shown; every one is in the JSON and Markdown reports)"


CHANGED_ANSWERS_SHOWN = 5  # in the terminal; the JSON and Markdown reports hold every one


def _changed_answer_lines(record: Record) -> Iterator[str]:
    """When a quality verdict against the baseline did not pass: the first few questions
    whose answer changed, each way."""
    changed = record.get("changed_answers") or []
    open_quality = [
        v
        for v in record["verdicts"]
        if v.get("quality") is not None
        and Kind(v["kind"]).is_difference
        and outcome_of(v) in (Outcome.FAIL, Outcome.INCONCLUSIVE)
    ]
    if not changed or not open_quality:
        return
    shown = changed[:CHANGED_ANSWERS_SHOWN]
    more = _how_many_shown(len(shown), len(changed))
    yield f"  changed answers: {len(changed)}{more}"
    for position, answer in enumerate(shown, 1):
        question = f" [{answer['question_id']}]" if answer["question_id"] else ""
        yield f"    {position}. {answer['change']}{question}: {quoted(answer['prompt'])}"
        yield f"       expected:  {quoted(answer['expected'] or '')}"
        yield f"       baseline:  {quoted(answer['baseline'])}"
        yield f"       candidate: {quoted(answer['candidate'])}"


def _inconclusive_lines(records: Sequence[Record]) -> Iterator[str]:
    """Limits with no evidence either way: neither failed nor passed, and what would settle
    each (in its note)."""
    open_ones = [
        (record["test"], verdict)
        for record in records
        for verdict in record["verdicts"]
        if outcome_of(verdict) is Outcome.INCONCLUSIVE
    ]
    if not open_ones:
        return
    yield (
        f"{plural(len(open_ones), 'limit')} inconclusive: the interval straddles the budget, "
        "so the test was not failed"
    )
    for test, verdict in open_ones:
        yield f"  {test} {verdict['limit']}{observed_text(verdict)}: {verdict['note']}"


ROLES = ("baseline", "candidate")


def _renderings_differ(record: Mapping[str, Any]) -> bool:
    """Both models rendered the test's conversations, each to a different prompt."""
    digests = [(record[role]["figures"] or {}).get("rendered_sha256") for role in ROLES]
    return None not in digests and digests[0] != digests[1]


def _template_lines(records: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Tests whose conversations the two models rendered with different chat templates."""
    tests = [record["test"] for record in records if _renderings_differ(record)]
    if tests:
        yield (
            "chat templates differ: baseline and candidate each rendered the conversations "
            "with their own (input tokens count each one's template tokens)"
        )
        yield from (f"  {test}" for test in tests)


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


RECORDED_METRICS = tuple(METRICS_BY_NAME[name] for name in ("latency", "output_tokens"))


def _recorded_lines(records: Sequence[Record]) -> Iterator[str]:
    """What --llm-update recorded per test: the model, its runs, latency and tokens."""
    recorded = [r for r in records if not r["judged"] and r["baseline"]["figures"] is not None]
    if not recorded:
        return
    yield f"{plural(len(recorded), 'baseline')} recorded"
    rows: list[tuple[str, ...]] = [
        ("test", "model", "prompts", "runs", *(metric.label for metric in RECORDED_METRICS))
    ]
    for record in recorded:
        figures = record["baseline"]["figures"]
        rows.append(
            (
                record["test"],
                record["baseline"]["name"],
                f"{figures['prompts']:,}",
                f"{figures['runs']:,}",
                *(metric.unit.format(figures.get(metric.key)) for metric in RECORDED_METRICS),
            )
        )
    yield from table(rows)


def summary_lines(records: Sequence[Mapping[str, Any]], snapshot_dir: Path) -> Iterator[str]:
    """The session summary from report records (under xdist, the workers' records):
    every judged test and its limits, what --llm-update recorded (housekeeping.py counts
    the snapshots)."""
    yield from _recorded_lines(records)
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
            outcome_of(verdict) is Outcome.NOT_COMPARED
            for record in judged
            for verdict in record["verdicts"]
        )
        if not_compared:
            yield (
                f"{plural(not_compared, 'limit')} not compared: a snapshot from other hardware, "
                "token limits in fixed_length mode, a ratio of two zeros (no tokens generated), "
                "or a default limit the test does not measure (see each test's note)"
            )
        yield from _inconclusive_lines(judged)
        figures: list[tuple[str, ...]] = [("test", "figure", "baseline", "candidate", "change")]
        for record in judged:
            figures.extend((record["test"], *row) for row in figure_rows(record, SUMMARY_METRICS))
        yield "baseline and candidate side by side"
        yield from table(figures)
        yield from _token_count_lines(judged)
        yield from _template_lines(judged)


def ranking_lines(ranked: Mapping[str, Any] | None) -> Iterator[str]:
    """The candidates ranked (report/ranking.py), when the run judged several."""
    if ranked is None:
        return
    yield f"candidates ranked ({len(ranked['candidates'])}), figures the mean over their tests"
    yield from table(table_rows(ranked))
    yield from verdict_lines(ranked)


def failure_message(record: Record) -> str:
    """What pytest prints for a test over budget (`failure_lines`), masked."""
    return redact("\n".join(failure_lines(record)))


def session_lines(
    records: Sequence[Mapping[str, Any]],
    snapshot_dir: Path,
    rank_by: tuple[tuple[str, str], ...],
    *more: Iterable[str],
) -> list[str]:
    """The llmperf section of the terminal summary, masked: the judged tests, the ranking
    of several candidates, then `more` (the snapshots' and the reports' lines)."""
    lines = chain(
        summary_lines(records, snapshot_dir), ranking_lines(ranking(records, rank_by)), *more
    )
    return [redact(line) for line in lines]
