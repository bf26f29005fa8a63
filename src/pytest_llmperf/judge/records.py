"""Judged tests as records: the one shape every output renders (the terminal's failure
message and summary, JSON, Markdown, JUnit properties, plots, pytest-benchmark), and what
xdist workers send to the controller.

A judged test is first a `JudgedTest` (live objects: verdicts, results); `record_from`
turns it into a record once. A record is plain data (dicts, lists, numbers, strings, None),
so it survives json.dumps and the trip from a worker unchanged; renderers never need the
live objects. A model's figures are one entry per metric row (metrics.py), under its key.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pytest_llmperf.judge.answers import changed_answers, pair_answers
from pytest_llmperf.judge.verdicts import Verdict
from pytest_llmperf.metrics import METRICS
from pytest_llmperf.redaction import redacted
from pytest_llmperf.results import GenerationResult

RECORD_SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class JudgedTest:
    """A judged (or recorded) test, before it becomes a record."""

    nodeid: str
    verdicts: list[Verdict]
    baseline_source: str
    candidate_name: str
    candidate: GenerationResult | None = None
    baseline: GenerationResult | None = None
    snapshot_written: Path | None = None
    mode: str = "natural"
    extra_seconds: float = 0.0  # spent on runs added to decide inconclusive verdicts
    requests_per_month: int = 0
    baseline_name: str = ""  # the baseline's model (live, or the snapshot's) for reports
    candidate_id: str = ""  # the candidate's name in test ids, when a run judges several
    candidate_is_baseline: bool = False  # the --llm-baseline model itself, matched by a glob

    @property
    def failed(self) -> bool:
        return any(verdict.failed for verdict in self.verdicts)

    @cached_property
    def record(self) -> dict[str, Any]:
        """This test as a record, built once, secrets masked: what every output renders."""
        return redacted(record_from(self))


def plain(value: Any) -> Any:
    """`value` as JSON and execnet carry it: numpy scalars as Python numbers, NaN and
    infinities as None (JSON has neither), tuples as lists."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def model_figures(result: GenerationResult) -> dict[str, Any]:
    """One model's figures for one test: every metric's figure, then what the reports need
    to redraw or recount them (the SLA statistic, prices, token counts, load, raw samples)."""
    return {
        "runs": len(result.runs),
        "prompts": len(result.samples),
        **{metric.key: _number(metric.value(result)) for metric in METRICS},
        "latency_p99_ms": result.latency_at(99.0),
        "latency_sla_ms": result.sla_latency_ms,
        "latency_statistic_percentile": result.latency_percentile,
        "ttft_p95_ms": _number(result.ttft_at(95.0)),
        "max_new_tokens_hit_rate": result.max_new_tokens_hit_rate,
        "answers_scored": sum(
            sample.correct is not None or sample.score is not None for sample in result.samples
        ),
        "scorers": list(result.scorers),
        "price_input_per_1m": result.pricing.input_per_1m,
        "price_output_per_1m": result.pricing.output_per_1m,
        "token_count": {
            "source": result.token_count.source,
            "checked": result.token_count.checked,
            "mismatched": result.token_count.mismatched,
            "largest_difference": result.token_count.largest_difference,
        },
        "load": None if result.load is None else _load_record(result),
        "batches": None if result.batches is None else asdict(result.batches),
        "capacity": None if result.capacity is None else result.capacity.to_json(),
        "rendered_sha256": result.rendered_sha256,
        "latencies_ms": result.latencies_ms.tolist(),
        "ttfts_ms": result.ttfts_ms.tolist(),
        "client_lags_ms": [] if result.load is None else list(result.load.client_lags_ms),
        "questions": _questions(result),
    }


def _questions(result: GenerationResult) -> list[dict[str, Any]] | None:
    """Each scored question's id and score, to pair them across models and runs; None when
    no answer was scored."""
    if result.accuracy is None:
        return None
    return [
        {"id": sample.question_id, "score": sample.scored, "correct": sample.correct}
        for sample in result.samples
    ]


def _load_record(result: GenerationResult) -> dict[str, Any]:
    load = result.load
    assert load is not None
    return {
        "concurrency": load.concurrency,
        "rate_per_s": load.rate_per_s,
        "requests": load.requests,
        "errors": load.errors,
        "wall_seconds": load.wall_seconds,
        "output_tokens": load.output_tokens,
        "error_examples": list(load.error_examples),
        "arrival": load.arrival,
        "slo_requests": load.slo_requests,
        "slo_met": load.slo_met,
        "slo_tightest_ms": load.slo_tightest_ms,
    }


def verdict_record(verdict: Verdict) -> dict[str, Any]:
    interval = verdict.interval
    return {
        "limit": verdict.limit.name,
        "metric": verdict.limit.spec.metric.name,
        "kind": verdict.limit.spec.kind.value,
        "unit": verdict.limit.spec.unit.symbol,
        "budget": verdict.limit.value,
        "budget_text": verdict.limit.describe(),
        "from_default": verdict.limit.from_default,
        "outcome": verdict.outcome.value,
        "failed": verdict.failed,
        "baseline": _number(verdict.baseline),
        "candidate": _number(verdict.candidate),
        "observed": _number(verdict.observed),
        "interval": None
        if interval is None
        else {
            "estimate": interval.estimate,
            "low": interval.low,
            "high": interval.high,
            "confidence": interval.confidence,
            "samples": interval.samples,
            "paired": interval.paired,
            "sampling": verdict.sampling,
            "baseline_samples": interval.baseline_samples,
            "widened_by": interval.widened_by,
            "confidence_split": None
            if verdict.policy is None
            else {
                "false_failure_rate": verdict.policy.false_failure_rate,
                "decisions": verdict.policy.decisions,
                "looks": verdict.policy.looks,
            },
        },
        "quality": _quality_record(verdict),
        "noise_cv": {"baseline": verdict.noise[0], "candidate": verdict.noise[1]},
        "decided_by": verdict.decided_by,
        "note": verdict.note,
        "remedy": verdict.remedy,
    }


def _quality_record(verdict: Verdict) -> dict[str, Any] | None:
    """A quality verdict's evidence: questions, answers changed each way, the interval's
    method, and about how many questions would settle it when it is open."""
    quality = verdict.quality
    if quality is None:
        return None
    return {
        "questions": quality.questions,
        "baseline_questions": quality.baseline_questions,
        "paired": quality.paired,
        "why_unpaired": quality.why_unpaired or None,
        "right_to_wrong": quality.right_to_wrong,
        "wrong_to_right": quality.wrong_to_right,
        "method": quality.method,
        "questions_to_settle": quality.questions_to_settle,
    }


def changed_answers_record(
    candidate: GenerationResult | None, baseline: GenerationResult | None
) -> list[dict[str, Any]] | None:
    """Every question whose answer changed between baseline and candidate (right->wrong,
    wrong->right; worse or better for graded scores), paired as the quality verdicts pair
    them; None when the two sides' answers were not scored or do not pair."""
    if candidate is None or baseline is None or candidate.accuracy is None:
        return None
    (score,) = [metric.per_question for metric in METRICS if metric.per_question is not None]
    pairing = pair_answers(baseline, candidate, score)
    return changed_answers(pairing, score) if pairing.paired else None


def wrong_answers(
    candidate: GenerationResult | None, baseline: GenerationResult | None
) -> list[dict[str, Any]] | None:
    """Every prompt the candidate answered wrong (or, with a graded scorer, not fully
    right): its question id, the prompt, the expected answer, the score, both models'
    answers and whether the baseline's was right (promptfoo's habit); None when no answers
    were scored. The baseline's answer is the one to the same question: the same question
    id, else the same position, and the same prompt text where both are known."""
    if candidate is None or candidate.accuracy is None:
        return None
    others = baseline.samples if baseline is not None else ()
    aligned = len(others) == len(candidate.samples)
    by_id = {other.question_id: other for other in others if other.question_id is not None}
    wrong = []
    for index, sample in enumerate(candidate.samples):
        if sample.scored is None or sample.scored >= 1.0:
            continue
        other = by_id.get(sample.question_id) or (others[index] if aligned else None)
        if other is not None and other.prompt and other.prompt != sample.prompt:
            other = None
        wrong.append(
            {
                "id": sample.question_id,
                "score": sample.scored,
                "prompt": sample.prompt,
                "expected": sample.expected,
                "candidate": sample.text,
                "baseline": None if other is None else other.text,
                "baseline_correct": None if other is None else other.correct,
                "baseline_score": None if other is None else other.scored,
            }
        )
    return wrong


def record_from(test: JudgedTest) -> dict[str, Any]:
    """Everything about one judged (or recorded) test, JSON-ready."""
    record = {
        "test": test.nodeid,
        "mode": test.mode,
        "failed": test.failed,
        "judged": bool(test.verdicts),
        "candidate": {
            "name": test.candidate_name,
            "id": test.candidate_id,
            "is_baseline": test.candidate_is_baseline,
            "figures": None if test.candidate is None else model_figures(test.candidate),
        },
        "baseline": {
            "name": test.baseline_name,
            "source": test.baseline_source,
            "figures": None if test.baseline is None else model_figures(test.baseline),
        },
        "verdicts": [verdict_record(verdict) for verdict in test.verdicts],
        "wrong_answers": wrong_answers(test.candidate, test.baseline),
        "changed_answers": changed_answers_record(test.candidate, test.baseline),
        "extra_seconds": test.extra_seconds,
        "requests_per_month": test.requests_per_month,
        "snapshot_written": None if test.snapshot_written is None else str(test.snapshot_written),
    }
    return plain(record)
