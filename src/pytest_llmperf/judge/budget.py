"""Limits of the assert_within_budget marker: parsing, checking, verdicts and remedies."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

from pytest_llmperf.errors import BudgetError
from pytest_llmperf.results import GenerationResult, Run
from pytest_llmperf.judge.stats import (
    Decision,
    DecisionPolicy,
    Interval,
    coefficient_of_variation,
    decide,
    paired_ratio_interval,
    percentile_interval,
    unpaired_ratio_interval,
)

SPEED_REMEDY = (
    "the candidate is slower per token while its answers are no longer: quantize it "
    "(dynamic int8, 4-bit), prune or distil it, or serve it on faster hardware"
)
VERBOSITY_REMEDY = (
    "the candidate learned to answer at greater length: fine-tune for fewer epochs, train on "
    "shorter targets, or cap max_new_tokens"
)
QUANTIZED_SPEED_REMEDY = (
    "the candidate is already quantized and still slower: on this hardware quantization adds "
    "work rather than saving it; prune or distil the model, or serve it where int8 kernels "
    "pay off (a GPU)"
)
MEMORY_REMEDY = "quantize the candidate or load it in bfloat16/float16 (--llm-dtype)"
ERROR_REMEDY = (
    "requests failed under this load: see the errors listed; lower the load or give the "
    "server more capacity (replicas, batch size, KV-cache memory)"
)
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
    def is_statistical(self) -> bool:
        """Judged on an interval from noisy samples, not on a single exact figure."""
        if self.metric == "memory":
            return self.kind is Kind.RATIO
        return self.metric in ("latency", "ttft")

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
    LimitSpec("error_rate", "errors", Kind.ABSOLUTE, "", "share of failed requests (0..1)"),
    LimitSpec(
        "min_throughput_rps", "throughput", Kind.FLOOR, "req/s", "completed requests/s under load"
    ),
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


MODES = ("natural", "fixed_length")


@dataclass(frozen=True)
class Budget:
    """What an assert_within_budget marker asks: its limits, and the mode if it sets one."""

    limits: list[Limit]
    mode: str | None = None


def parse_budget(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], defaults: Mapping[str, float] | None = None
) -> Budget:
    """The marker's limits over the configured defaults, and its optional `mode=`."""
    limits = {**(defaults or {}), **kwargs}
    mode = limits.pop("mode", None)
    if mode is not None and mode not in MODES:
        raise BudgetError(
            f"mode={mode!r} in assert_within_budget is not a mode. Valid modes: {', '.join(MODES)}."
        )
    return Budget(parse_limits(args, limits), mode)


def parse_limits(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[Limit]:
    """Turn marker arguments into limits; BudgetError names any bad one and the valid names."""
    if args:
        raise BudgetError(
            f"assert_within_budget takes keyword limits only, got positional {args!r}: "
            "write e.g. assert_within_budget(latency_ratio=1.2)."
        )
    if not kwargs:
        raise BudgetError(
            "assert_within_budget needs at least one limit (in the marker or in "
            f"[tool.llmperf.budget]). Valid limits: {valid_limit_names()}."
        )
    return [_parse_limit(name, value) for name, value in kwargs.items()]


def with_implied_limits(limits: list[Limit], under_load: bool) -> list[Limit]:
    """Under load, failed requests are judged even when no error_rate limit was set: with
    error_rate=0 implied, so that errors fail the test instead of thinning its samples."""
    if not under_load or any(limit.spec.metric == "errors" for limit in limits):
        return limits
    return [*limits, Limit(LIMIT_SPECS["error_rate"], 0.0)]


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
    if spec.metric in ("accuracy", "errors"):
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
    INCONCLUSIVE = "inconclusive"  # only until more pairs or the rule at the cap settle it


@dataclass(frozen=True)
class Verdict:
    limit: Limit
    outcome: Outcome
    baseline: float | None = None
    candidate: float | None = None
    observed: float | None = None  # what was held against the budget
    note: str = ""
    remedy: str = ""
    interval: Interval | None = None
    noise: tuple[float | None, float | None] = (None, None)  # CV of baseline, candidate
    decided_by: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAIL


@dataclass(frozen=True)
class Comparison:
    """Everything a test's limits are judged on."""

    candidate: GenerationResult
    baseline: GenerationResult | None
    baseline_source: str
    baseline_name: str = ""  # the baseline model's name (live, or the snapshot's), for reports
    paired: bool = False
    latency_percentile: float = 95.0
    has_prices: bool = True
    timings_comparable: bool = True
    timings_note: str = ""
    timing_mismatch_fails: bool = False
    no_baseline_hint: str = ""
    policy: DecisionPolicy = field(default_factory=DecisionPolicy)
    mode: str = "natural"
    candidate_quantized: bool = False


def judge(limits: list[Limit], comparison: Comparison) -> list[Verdict]:
    return [_judge_one(limit, comparison) for limit in limits]


def settle(verdict: Verdict, rule: str, why: str) -> Verdict:
    """Turn an inconclusive verdict into pass or fail by the rule at the cap."""
    if verdict.outcome is not Outcome.INCONCLUSIVE:
        return verdict
    if rule == "estimate":
        assert verdict.observed is not None
        fails = _beyond(verdict.limit, verdict.observed)
        rule_text = "the point estimate decides"
    else:
        fails = rule == "fail"
        rule_text = f"--llm-inconclusive={rule}"
    outcome = Outcome.FAIL if fails else Outcome.PASS
    return replace(
        verdict,
        outcome=outcome,
        decided_by=f"inconclusive at the cap ({why}); {rule_text}",
        remedy=verdict.remedy if fails else "",
    )


def _judge_one(limit: Limit, comparison: Comparison) -> Verdict:
    spec = limit.spec
    if spec.metric == "cost" and not comparison.has_prices:
        return Verdict(
            limit,
            Outcome.FAIL,
            note="no prices configured: set price_input_per_1m and price_output_per_1m in "
            "[tool.llmperf] (US dollars per 1M tokens)",
        )
    if spec.metric in ("output_tokens", "cost") and comparison.mode == "fixed_length":
        return Verdict(
            limit,
            Outcome.NOT_COMPARED,
            note="fixed_length mode makes every answer max_new_tokens long; token and cost "
            "limits need natural mode",
        )
    candidate = _figure(spec, comparison.candidate, comparison.latency_percentile)
    if candidate is None:
        return Verdict(limit, Outcome.FAIL, note=_unmeasured_note(spec.metric))
    statistical = spec.is_statistical and _has_samples(spec, comparison)
    if not spec.needs_baseline:
        if statistical:
            return _statistical_sla(limit, candidate, comparison)
        return _exact(limit, None, candidate, candidate, comparison)
    if comparison.baseline is None:
        return Verdict(limit, Outcome.FAIL, candidate=candidate, note=comparison.no_baseline_hint)
    if spec.is_timing and not comparison.timings_comparable:
        outcome = Outcome.FAIL if comparison.timing_mismatch_fails else Outcome.NOT_COMPARED
        return Verdict(limit, outcome, candidate=candidate, note=comparison.timings_note)
    baseline = _figure(spec, comparison.baseline, comparison.latency_percentile)
    if baseline is None:
        return Verdict(limit, Outcome.FAIL, candidate=candidate, note=_unmeasured_note(spec.metric))
    if statistical:
        return _statistical_ratio(limit, baseline, candidate, comparison)
    if spec.kind is Kind.DROP:
        return _exact(limit, baseline, candidate, baseline - candidate, comparison)
    if baseline <= 0:
        return Verdict(
            limit,
            Outcome.FAIL,
            baseline,
            candidate,
            note=f"the baseline's {spec.metric} is 0: no ratio can be taken",
        )
    return _exact(limit, baseline, candidate, candidate / baseline, comparison)


def _beyond(limit: Limit, observed: float) -> bool:
    # A value at the budget is within it, also when float arithmetic lands a hair beyond.
    if math.isclose(observed, limit.value, rel_tol=1e-9, abs_tol=1e-12):
        return False
    return observed < limit.value if limit.spec.kind is Kind.FLOOR else observed > limit.value


def _exact(
    limit: Limit, baseline: float | None, candidate: float, observed: float, comparison: Comparison
) -> Verdict:
    """Deterministic figures (tokens, cost, accuracy, peak memory): compared as they are."""
    note = _capped_note(limit.spec, comparison)
    if not _beyond(limit, observed):
        return Verdict(limit, Outcome.PASS, baseline, candidate, observed, note=note)
    remedy = remedy_for(limit.spec, comparison)
    return Verdict(limit, Outcome.FAIL, baseline, candidate, observed, note=note, remedy=remedy)


_OUTCOMES = {
    Decision.PASS: Outcome.PASS,
    Decision.FAIL: Outcome.FAIL,
    Decision.INCONCLUSIVE: Outcome.INCONCLUSIVE,
}


def _statistical_sla(limit: Limit, candidate: float, comparison: Comparison) -> Verdict:
    values = _samples(limit.spec.metric, comparison.candidate.runs)
    interval = percentile_interval(values, comparison.latency_percentile, comparison.policy)
    decision = decide(interval, limit.value, comparison.policy.noise_floor)
    return _interval_verdict(limit, limit.value, None, candidate, interval, decision, comparison)


def _statistical_ratio(
    limit: Limit, baseline: float, candidate: float, comparison: Comparison
) -> Verdict:
    assert comparison.baseline is not None
    base_runs, cand_runs = comparison.baseline.runs, comparison.candidate.runs
    metric = limit.spec.metric
    if comparison.paired:
        pairs = [
            (b, c)
            for b, c in zip(_values(metric, base_runs), _values(metric, cand_runs), strict=True)
            if b is not None and c is not None
        ]
        base = [b for b, _ in pairs]
        cand = [c for _, c in pairs]
        interval = paired_ratio_interval(base, cand, comparison.policy)
    else:
        base, cand = _samples(metric, base_runs), _samples(metric, cand_runs)
        interval = unpaired_ratio_interval(base, cand, comparison.policy)
    # A change smaller than the noise floor does not count, however tight the budget.
    budget = max(limit.value, 1 + comparison.policy.noise_floor)
    decision = decide(interval, budget, comparison.policy.noise_floor)
    return _interval_verdict(
        limit, budget, baseline, candidate, interval, decision, comparison, base, cand
    )


def _interval_verdict(
    limit: Limit,
    budget: float,
    baseline: float | None,
    candidate: float,
    interval: Interval,
    decision: Decision,
    comparison: Comparison,
    base_samples: list[float] | None = None,
    cand_samples: list[float] | None = None,
) -> Verdict:
    if cand_samples is None:
        cand_samples = _samples(limit.spec.metric, comparison.candidate.runs)
    noise = (
        None if base_samples is None else coefficient_of_variation(base_samples),
        coefficient_of_variation(cand_samples),
    )
    if decision is Decision.INCONCLUSIVE:
        decided_by = ""
    elif interval.high <= budget or interval.low > budget:
        decided_by = "the interval"
    else:
        decided_by = "the point estimate: the interval is narrower than the noise floor"
    return Verdict(
        limit,
        _OUTCOMES[decision],
        baseline,
        candidate,
        interval.estimate,
        remedy=remedy_for(limit.spec, comparison) if decision is Decision.FAIL else "",
        interval=interval,
        noise=noise,
        decided_by=decided_by,
    )


def _has_samples(spec: LimitSpec, comparison: Comparison) -> bool:
    """Per-run memory may be missing (older results): the peak is then compared as it is."""
    if spec.metric != "memory":
        return True
    results = [comparison.candidate, comparison.baseline]
    return all(result is None or result.memories_mb.size for result in results)


def _values(metric: str, runs: list[Run]) -> list[float | None]:
    if metric == "latency":
        return [run.latency_ms for run in runs]
    if metric == "ttft":
        return [run.ttft_ms for run in runs]
    return [run.peak_memory_mb for run in runs]


def _samples(metric: str, runs: list[Run]) -> list[float]:
    return [value for value in _values(metric, runs) if value is not None]


def _figure(spec: LimitSpec, result: GenerationResult, percentile: float) -> float | None:
    """The figure a limit is about: the SLA statistic for absolute timing limits, else medians."""
    if spec.metric == "latency":
        return result.latency_at(percentile) if spec.kind is Kind.ABSOLUTE else result.latency_ms
    if spec.metric == "ttft":
        return result.ttft_at(percentile) if spec.kind is Kind.ABSOLUTE else result.ttft_ms
    if spec.metric == "memory" and spec.kind is Kind.RATIO and result.memories_mb.size:
        return float(np.median(result.memories_mb))
    return {
        "output_tokens": lambda: result.output_tokens,
        "cost": lambda: result.cost_usd,
        "memory": lambda: result.peak_memory_mb,
        "accuracy": lambda: result.accuracy,
        "errors": lambda: result.error_rate,
        "throughput": lambda: result.requests_per_s,
    }[spec.metric]()


def _capped_note(spec: LimitSpec, comparison: Comparison) -> str:
    """Say so when answers were cut at max_new_tokens: a capped output hides verbosity."""
    if spec.metric not in ("output_tokens", "cost"):
        return ""
    shares = [("candidate", comparison.candidate.max_new_tokens_hit_rate)]
    if comparison.baseline is not None:
        shares.append(("baseline", comparison.baseline.max_new_tokens_hit_rate))
    if not any(share > 0 for _, share in shares):
        return ""
    told = ", ".join(f"{name} in {share:.0%}" for name, share in shares)
    return (
        f"answers reached max_new_tokens ({told} of runs): a capped answer hides how long "
        "it would have been; raise max_new_tokens to see"
    )


def _unmeasured_note(metric: str) -> str:
    if metric == "accuracy":
        return "no accuracy was measured: pass expected=[...] to generate(), one answer per prompt"
    if metric == "ttft":
        return "no time to first token was measured (beam search cannot stream tokens)"
    if metric == "throughput":
        return (
            "no throughput was measured: send the requests under load, "
            "e.g. generate(prompts, concurrency=8)"
        )
    if metric == "memory":
        return (
            "no memory was measured: a model served by an endpoint holds its memory on the "
            "server; watch it there (e.g. vLLM's /metrics)"
        )
    return f"no {metric} was measured"


def remedy_for(spec: LimitSpec, comparison: Comparison) -> str:
    """The likely fix for a failed limit, told apart by what else changed."""
    if spec.metric in ("output_tokens", "cost"):
        return VERBOSITY_REMEDY
    if spec.metric == "memory":
        return MEMORY_REMEDY
    if spec.metric == "accuracy":
        return QUALITY_REMEDY
    if spec.metric == "errors":
        return ERROR_REMEDY
    if spec.metric == "throughput":
        return SPEED_REMEDY
    baseline = comparison.baseline
    tokens_grew = (
        baseline is not None
        and baseline.output_tokens > 0
        and comparison.candidate.output_tokens / baseline.output_tokens > 1.1
    )
    if tokens_grew:
        return VERBOSITY_REMEDY + " (latency grows with the number of tokens generated)"
    return QUANTIZED_SPEED_REMEDY if comparison.candidate_quantized else SPEED_REMEDY


def _format(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "$":
        return f"${value:,.2f}" if value >= 1 else f"${value:.6f}"
    if unit == "":
        return f"{value:.3f}"
    return f"{value:.1f} {unit}"


def format_figure(value: float | None, unit: str) -> str:
    return "-" if value is None else _format(value, unit)
