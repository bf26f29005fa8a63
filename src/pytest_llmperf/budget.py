"""Limits of the assert_within_budget marker: parsing, checking, verdicts and remedies."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pytest_llmperf.errors import BudgetError
from pytest_llmperf.results import GenerationResult
from pytest_llmperf.stats import paired_ratio, unpaired_ratio

SPEED_REMEDY = (
    "the candidate is slower per token while its answers are no longer: quantize it "
    "(dynamic int8, 4-bit), prune or distil it, or serve it on faster hardware"
)
VERBOSITY_REMEDY = (
    "the candidate learned to answer at greater length: fine-tune for fewer epochs, train on "
    "shorter targets, or cap max_new_tokens"
)
MEMORY_REMEDY = "quantize the candidate or load it in bfloat16/float16 (--llm-dtype)"
QUALITY_REMEDY = (
    "check the fine-tuning data and schedule: the candidate answers fewer prompts right"
)


class Kind(Enum):
    ABSOLUTE = "absolute"  # candidate value <= budget
    RATIO = "ratio"  # candidate / baseline <= budget
    FLOOR = "floor"  # candidate value >= budget
    DROP = "drop"  # baseline - candidate <= budget


@dataclass(frozen=True)
class LimitSpec:
    name: str
    metric: str
    kind: Kind
    unit: str
    description: str

    @property
    def is_timing(self) -> bool:
        """Hardware-dependent: not compared against a snapshot from other hardware."""
        return self.metric in ("latency", "ttft", "memory")

    @property
    def needs_baseline(self) -> bool:
        return self.kind in (Kind.RATIO, Kind.DROP)


_SPECS = (
    LimitSpec("latency_ms", "latency", Kind.ABSOLUTE, "ms", "end-to-end latency SLA per request"),
    LimitSpec("ttft_ms", "ttft", Kind.ABSOLUTE, "ms", "time to first token"),
    LimitSpec("output_tokens", "output_tokens", Kind.ABSOLUTE, "tok", "mean output tokens"),
    LimitSpec("cost_usd", "cost", Kind.ABSOLUTE, "$", "mean cost per request"),
    LimitSpec("memory_mb", "memory", Kind.ABSOLUTE, "MB", "peak memory of generation"),
    LimitSpec("latency_ratio", "latency", Kind.RATIO, "x", "median latency, candidate/baseline"),
    LimitSpec("ttft_ratio", "ttft", Kind.RATIO, "x", "median TTFT, candidate/baseline"),
    LimitSpec("tokens_ratio", "output_tokens", Kind.RATIO, "x", "output tokens, cand./baseline"),
    LimitSpec("cost_ratio", "cost", Kind.RATIO, "x", "cost per request, candidate/baseline"),
    LimitSpec("memory_ratio", "memory", Kind.RATIO, "x", "peak memory, candidate/baseline"),
    LimitSpec("min_accuracy", "accuracy", Kind.FLOOR, "", "accuracy floor (0..1)"),
    LimitSpec("accuracy_drop", "accuracy", Kind.DROP, "", "largest fall from the baseline (0..1)"),
)
LIMIT_SPECS: dict[str, LimitSpec] = {spec.name: spec for spec in _SPECS}


@dataclass(frozen=True)
class Limit:
    spec: LimitSpec
    value: float

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> str:
        comparison = ">=" if self.spec.kind is Kind.FLOOR else "<="
        return f"{comparison} {_format(self.value, self.spec.unit)}"


def parse_limits(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[Limit]:
    """Turn marker arguments into limits; BudgetError names any bad one and the valid names."""
    if args:
        raise BudgetError(
            f"assert_within_budget takes keyword limits only, got positional {args!r}: "
            "write e.g. assert_within_budget(latency_ratio=1.2)."
        )
    if not kwargs:
        raise BudgetError(
            f"assert_within_budget needs at least one limit. Valid limits: {valid_limit_names()}."
        )
    return [_parse_limit(name, value) for name, value in kwargs.items()]


def valid_limit_names() -> str:
    return ", ".join(LIMIT_SPECS)


def _parse_limit(name: str, value: Any) -> Limit:
    spec = LIMIT_SPECS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, LIMIT_SPECS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise BudgetError(
            f"unknown limit '{name}' in assert_within_budget.{hint} "
            f"Valid limits: {valid_limit_names()}."
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise BudgetError(f"limit {name}={value!r} is not a finite number.")
    if spec.metric == "accuracy":
        if not 0 <= value <= 1:
            raise BudgetError(
                f"limit {name}={value!r} must lie between 0 and 1 (a share of prompts)."
            )
    elif value <= 0:
        raise BudgetError(f"limit {name}={value!r} must be greater than 0.")
    return Limit(spec, float(value))


class Outcome(Enum):
    PASS = "pass"
    FAIL = "FAIL"
    NOT_COMPARED = "not compared"


@dataclass(frozen=True)
class Verdict:
    limit: Limit
    outcome: Outcome
    baseline: float | None = None
    candidate: float | None = None
    observed: float | None = None  # what was held against the budget
    note: str = ""
    remedy: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAIL


@dataclass(frozen=True)
class Comparison:
    """Everything a test's limits are judged on."""

    candidate: GenerationResult
    baseline: GenerationResult | None
    baseline_source: str
    paired: bool = False
    latency_percentile: float = 95.0
    has_prices: bool = True
    timings_comparable: bool = True
    timings_note: str = ""
    timing_mismatch_fails: bool = False
    no_baseline_hint: str = ""


def judge(limits: list[Limit], comparison: Comparison) -> list[Verdict]:
    return [_judge_one(limit, comparison) for limit in limits]


def _judge_one(limit: Limit, comparison: Comparison) -> Verdict:
    spec = limit.spec
    if spec.metric == "cost" and not comparison.has_prices:
        return Verdict(
            limit,
            Outcome.FAIL,
            note="no prices configured: set price_input_per_1m and price_output_per_1m in "
            "[tool.llmperf] (US dollars per 1M tokens)",
        )
    candidate = _figure(spec.metric, comparison.candidate, comparison.latency_percentile, spec.kind)
    if candidate is None:
        return Verdict(limit, Outcome.FAIL, note=_unmeasured_note(spec.metric))
    if not spec.needs_baseline:
        return _verdict(limit, None, candidate, candidate, comparison)
    if comparison.baseline is None:
        return Verdict(limit, Outcome.FAIL, candidate=candidate, note=comparison.no_baseline_hint)
    if spec.is_timing and not comparison.timings_comparable:
        outcome = Outcome.FAIL if comparison.timing_mismatch_fails else Outcome.NOT_COMPARED
        return Verdict(limit, outcome, candidate=candidate, note=comparison.timings_note)
    baseline = _figure(spec.metric, comparison.baseline, comparison.latency_percentile, spec.kind)
    if baseline is None:
        return Verdict(limit, Outcome.FAIL, candidate=candidate, note=_unmeasured_note(spec.metric))
    observed = _relative(spec, comparison, baseline, candidate)
    if observed is None:
        return Verdict(
            limit,
            Outcome.FAIL,
            baseline,
            candidate,
            note=f"the baseline's {spec.metric} is 0: no ratio can be taken",
        )
    return _verdict(limit, baseline, candidate, observed, comparison)


def _verdict(
    limit: Limit, baseline: float | None, candidate: float, observed: float, comparison: Comparison
) -> Verdict:
    # A value at the budget is within it, also when float arithmetic lands a hair beyond.
    at_budget = math.isclose(observed, limit.value, rel_tol=1e-9, abs_tol=1e-12)
    beyond = observed < limit.value if limit.spec.kind is Kind.FLOOR else observed > limit.value
    within = at_budget or not beyond
    if within:
        return Verdict(limit, Outcome.PASS, baseline, candidate, observed)
    return Verdict(
        limit,
        Outcome.FAIL,
        baseline,
        candidate,
        observed,
        remedy=remedy_for(limit.spec, comparison),
    )


def _relative(
    spec: LimitSpec, comparison: Comparison, baseline: float, candidate: float
) -> float | None:
    if spec.kind is Kind.DROP:
        return baseline - candidate
    samples = _timing_samples(spec.metric, comparison)
    if samples is not None:
        base, cand = samples
        return paired_ratio(base, cand) if comparison.paired else unpaired_ratio(base, cand)
    return candidate / baseline if baseline > 0 else None


def _timing_samples(metric: str, comparison: Comparison) -> tuple[list[float], list[float]] | None:
    """Per-run samples of latency or TTFT for both models, aligned when paired."""
    assert comparison.baseline is not None
    pick: Callable[[Any], float | None]
    if metric == "latency":
        pick = lambda run: run.latency_ms  # noqa: E731
    elif metric == "ttft":
        pick = lambda run: run.ttft_ms  # noqa: E731
    else:
        return None
    base = [pick(run) for run in comparison.baseline.runs]
    cand = [pick(run) for run in comparison.candidate.runs]
    if comparison.paired:
        pairs = [
            (b, c) for b, c in zip(base, cand, strict=False) if b is not None and c is not None
        ]
        return [b for b, _ in pairs], [c for _, c in pairs]
    return [b for b in base if b is not None], [c for c in cand if c is not None]


def _figure(metric: str, result: GenerationResult, percentile: float, kind: Kind) -> float | None:
    """The figure a limit is about: the SLA statistic for absolute timing limits, else medians."""
    if metric == "latency":
        return result.latency_at(percentile) if kind is Kind.ABSOLUTE else result.latency_ms
    if metric == "ttft":
        return result.ttft_at(percentile) if kind is Kind.ABSOLUTE else result.ttft_ms
    return {
        "output_tokens": lambda: result.output_tokens,
        "cost": lambda: result.cost_usd,
        "memory": lambda: result.peak_memory_mb,
        "accuracy": lambda: result.accuracy,
    }[metric]()


def _unmeasured_note(metric: str) -> str:
    if metric == "accuracy":
        return "no accuracy was measured: pass expected=[...] to generate(), one answer per prompt"
    if metric == "ttft":
        return "no time to first token was measured (beam search cannot stream tokens)"
    return f"no {metric} was measured"


def remedy_for(spec: LimitSpec, comparison: Comparison) -> str:
    """The likely fix for a failed limit, told apart by what else changed."""
    if spec.metric in ("output_tokens", "cost"):
        return VERBOSITY_REMEDY
    if spec.metric == "memory":
        return MEMORY_REMEDY
    if spec.metric == "accuracy":
        return QUALITY_REMEDY
    baseline = comparison.baseline
    tokens_grew = (
        baseline is not None
        and baseline.output_tokens > 0
        and comparison.candidate.output_tokens / baseline.output_tokens > 1.1
    )
    if tokens_grew:
        return VERBOSITY_REMEDY + " (latency grows with the number of tokens generated)"
    return SPEED_REMEDY


def _format(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "$":
        return f"${value:.6f}"
    if unit == "":
        return f"{value:.3f}"
    return f"{value:.1f} {unit}"


def format_figure(value: float | None, unit: str) -> str:
    return "-" if value is None else _format(value, unit)
