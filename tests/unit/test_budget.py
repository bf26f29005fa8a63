"""Budget limits: parsing the marker's arguments, and judging synthetic results."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from pytest_llmperf.errors import BudgetError
from pytest_llmperf.judge.stats import (
    DecisionPolicy,
    instance_allowance,
    paired_ratio,
    unpaired_ratio,
)
from pytest_llmperf.judge.verdicts import Comparison, Outcome, Verdict, apply_cap_rule, judge
from pytest_llmperf.limits import (
    LIMIT_SPECS,
    Kind,
    Limit,
    LimitSpec,
    merged_markers,
    parse_budget,
    parse_limits,
    valid_limit_names,
    with_implied_limits,
)
from pytest_llmperf.metrics import (
    COST_REMEDY,
    LENGTH_REMEDY,
    MEMORY_REMEDY,
    MS,
    NO_CAUSE_REMEDY,
    PROMPT_REMEDY,
    QUALITY_REMEDY,
    QUANTIZED_SPEED_REMEDY,
    SPEED_REMEDY,
    VERBOSITY_REMEDY,
    RemedyContext,
    metric_named,
)
from pytest_llmperf.results import (
    BatchFigures,
    GenerationResult,
    LoadFigures,
    Pricing,
    PromptSample,
    Run,
)

PRICING = Pricing(input_per_1m=1.0, output_per_1m=2.0)
NO_BASELINE_HINT = "record one with --llm-baseline=MODEL --llm-update"


def make_result(
    latencies: Sequence[float] = (100.0, 100.0, 100.0),
    *,
    tokens: int = 10,
    ttfts: Sequence[float | None] | None = None,
    input_tokens: int = 20,
    memory_mb: float = 500.0,
    correct: Sequence[bool | None] = (None,),
    pricing: Pricing = PRICING,
) -> GenerationResult:
    """One sample per entry of `correct`, each with one run per latency."""
    if ttfts is None:
        ttfts = [latency / 10 for latency in latencies]
    runs = tuple(
        Run(latency, ttft, tokens, False) for latency, ttft in zip(latencies, ttfts, strict=True)
    )
    samples = tuple(
        PromptSample(index, input_tokens, "answer", runs, flag)
        for index, flag in enumerate(correct)
    )
    return GenerationResult(samples, memory_mb, pricing)


def compare(
    candidate: GenerationResult, baseline: GenerationResult | None = None, **options: Any
) -> Comparison:
    options.setdefault("no_baseline_hint", NO_BASELINE_HINT)
    return Comparison(candidate=candidate, baseline=baseline, baseline_source="test", **options)


def verdict_of(comparison: Comparison, **limits: float):
    (verdict,) = judge(parse_limits((), limits), comparison)
    return verdict


def settled_verdict_of(comparison: Comparison, **limits: float):
    """The verdict once the rule at the cap has settled it (few synthetic samples)."""
    return apply_cap_rule(verdict_of(comparison, **limits), "estimate", "synthetic samples")


# --- parse_limits ----------------------------------------------------------------------------


def test_parse_keeps_order_and_makes_floats() -> None:
    limits = parse_limits((), {"tokens_ratio": 2, "latency_ms": 400, "min_accuracy": 0.5})
    assert [limit.name for limit in limits] == ["tokens_ratio", "latency_ms", "min_accuracy"]
    assert [limit.value for limit in limits] == [2.0, 400.0, 0.5]
    assert all(isinstance(limit.value, float) for limit in limits)
    assert limits[0].spec is LIMIT_SPECS["tokens_ratio"]


@pytest.mark.parametrize("name", list(LIMIT_SPECS))
def test_every_documented_limit_parses(name: str) -> None:
    (limit,) = parse_limits((), {name: 0.5})
    assert limit.name == name


def test_documented_limit_names() -> None:
    """DESIGN.md's names, and those that served models under load add."""
    assert set(LIMIT_SPECS) == {
        "min_capacity_rps",
        "min_capacity_concurrency",
        "capacity_ratio",
        "error_rate",
        "min_throughput_rps",
        "min_throughput",
        "latency_ms",
        "ttft_ms",
        "output_tokens",
        "cost_usd",
        "memory_mb",
        "latency_ratio",
        "ttft_ratio",
        "tokens_ratio",
        "cost_ratio",
        "memory_ratio",
        "min_accuracy",
        "accuracy_drop",
        "accuracy_gain",
        "weights_mb",
        "weights_ratio",
        "kv_cache_ratio",
        "flops_ratio",
        "throughput_ratio",
        "min_slo_attainment",
        "min_goodput_rps",
        "goodput_ratio",
    }


def test_unknown_limit_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(BudgetError) as excinfo:
        parse_limits((), {"latency_ratio": 1.2, "latncy_ratio": 1.2})
    message = str(excinfo.value)
    assert "unknown limit 'latncy_ratio'" in message
    assert "Did you mean 'latency_ratio'?" in message
    assert f"Valid limits: {valid_limit_names()}." in message
    for name in LIMIT_SPECS:
        assert name in message


def test_unknown_limit_without_a_close_match_still_lists_all() -> None:
    with pytest.raises(BudgetError) as excinfo:
        parse_limits((), {"banana": 1})
    message = str(excinfo.value)
    assert "'banana'" in message
    assert "Did you mean" not in message
    assert valid_limit_names() in message


@pytest.mark.parametrize(
    "value",
    [-1, -0.5, 0, 0.0, True, False, "1.2", None, [1.2], math.nan, math.inf, -math.inf],
    ids=repr,
)
def test_nonsensical_values_are_rejected(value: Any) -> None:
    with pytest.raises(BudgetError) as excinfo:
        parse_limits((), {"latency_ratio": value})
    assert f"latency_ratio={value!r}" in str(excinfo.value)


@pytest.mark.parametrize("name", ["min_accuracy", "accuracy_drop"])
@pytest.mark.parametrize("value", [-0.01, 1.5, 2])
def test_accuracy_limits_must_lie_in_0_1(name: str, value: float) -> None:
    with pytest.raises(BudgetError, match="between 0 and 1") as excinfo:
        parse_limits((), {name: value})
    assert name in str(excinfo.value)


@pytest.mark.parametrize("name", ["min_accuracy", "accuracy_drop"])
@pytest.mark.parametrize("value", [0, 0.0, 1, 1.0])
def test_accuracy_limits_accept_the_ends_of_0_1(name: str, value: float) -> None:
    (limit,) = parse_limits((), {name: value})
    assert limit.value == float(value)


def test_positional_arguments_are_rejected() -> None:
    with pytest.raises(BudgetError, match="keyword limits only") as excinfo:
        parse_limits((1.2,), {})
    assert "latency_ratio=1.2" in str(excinfo.value)


def test_a_marker_without_limits_is_rejected() -> None:
    with pytest.raises(BudgetError, match="at least one limit") as excinfo:
        parse_limits((), {})
    assert valid_limit_names() in str(excinfo.value)


def test_limit_describe_and_format() -> None:
    ratio, sla, floor, cost, drop = parse_limits(
        (),
        {
            "latency_ratio": 1.2,
            "latency_ms": 400,
            "min_accuracy": 0.8,
            "cost_usd": 0.001,
            "accuracy_drop": 0.05,
        },
    )
    # A budget reads as its author wrote it; a measured figure with three significant digits.
    assert ratio.describe() == "<= 1.2x"
    assert sla.describe() == "<= 400 ms"
    assert floor.describe() == ">= 0.8"
    assert cost.describe() == "<= $0.001"
    assert drop.describe() == "<= 0.05"
    assert MS.format(None) == "-"
    assert MS.format(12.345) == "12.3 ms"
    assert MS.format(1250.4) == "1,250 ms"


# --- judge: ratio limits ---------------------------------------------------------------------


def test_judge_returns_one_verdict_per_limit_in_order() -> None:
    limits = parse_limits((), {"tokens_ratio": 2, "latency_ratio": 2, "output_tokens": 100})
    verdicts = judge(limits, compare(make_result(), make_result()))
    assert [verdict.limit for verdict in verdicts] == limits
    assert all(verdict.outcome is Outcome.PASS for verdict in verdicts)


def test_latency_ratio_within_budget_passes() -> None:
    verdict = verdict_of(
        compare(make_result([110.0] * 3), make_result([100.0] * 3)), latency_ratio=1.2
    )
    assert verdict.outcome is Outcome.PASS
    assert not verdict.failed
    assert verdict.baseline == 100.0
    assert verdict.candidate == 110.0
    assert verdict.observed == pytest.approx(1.1)
    assert verdict.remedy == ""


def test_latency_ratio_over_budget_fails_with_speed_remedy_when_tokens_are_flat() -> None:
    comparison = compare(make_result([150.0] * 3, tokens=10), make_result([100.0] * 3, tokens=10))
    verdict = verdict_of(comparison, latency_ratio=1.2)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.failed
    assert verdict.observed == pytest.approx(1.5)
    assert verdict.remedy == SPEED_REMEDY


def test_latency_ratio_over_budget_gets_verbosity_remedy_when_tokens_grew() -> None:
    comparison = compare(make_result([200.0] * 3, tokens=20), make_result([100.0] * 3, tokens=10))
    verdict = verdict_of(comparison, latency_ratio=1.2)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.remedy.startswith(VERBOSITY_REMEDY)
    assert "number of tokens" in verdict.remedy


def test_ttft_ratio_uses_ttft_samples() -> None:
    comparison = compare(
        make_result([100.0] * 3, ttfts=[30.0] * 3), make_result([100.0] * 3, ttfts=[10.0] * 3)
    )
    verdict = verdict_of(comparison, ttft_ratio=2)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.observed == pytest.approx(3.0)
    assert (verdict.baseline, verdict.candidate) == (10.0, 30.0)


def test_tokens_ratio_fails_with_verbosity_remedy() -> None:
    comparison = compare(make_result(tokens=16), make_result(tokens=10))
    verdict = verdict_of(comparison, tokens_ratio=1.5)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.observed == pytest.approx(1.6)
    assert verdict.remedy == VERBOSITY_REMEDY
    assert verdict_of(comparison, tokens_ratio=1.7).outcome is Outcome.PASS


def test_a_ratio_of_two_zeros_is_not_compared_and_of_a_zero_baseline_fails() -> None:
    nothing = compare(make_result(tokens=0), make_result(tokens=0))  # choices ranked, no tokens
    verdict = verdict_of(nothing, tokens_ratio=1.1)
    assert verdict.outcome is Outcome.NOT_COMPARED
    assert "both models' output_tokens is 0" in verdict.note
    grew = verdict_of(compare(make_result(tokens=3), make_result(tokens=0)), tokens_ratio=1.1)
    assert grew.outcome is Outcome.FAIL and "no ratio can be taken" in grew.note


def test_memory_ratio_fails_with_memory_remedy() -> None:
    comparison = compare(make_result(memory_mb=900.0), make_result(memory_mb=300.0))
    verdict = verdict_of(comparison, memory_ratio=2)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.observed == pytest.approx(3.0)
    assert verdict.remedy == MEMORY_REMEDY


def test_ratio_against_a_zero_baseline_fails_with_a_note() -> None:
    comparison = compare(make_result(memory_mb=100.0), make_result(memory_mb=0.0))
    verdict = verdict_of(comparison, memory_ratio=2)
    assert verdict.outcome is Outcome.FAIL
    assert "is 0" in verdict.note


# baseline and candidate runs such that the paired and the unpaired estimates differ
PAIR_BASE = [100.0, 200.0, 300.0]
PAIR_CAND = [330.0, 110.0, 220.0]


def test_paired_latency_ratio_is_the_paired_estimate() -> None:
    comparison = compare(make_result(PAIR_CAND), make_result(PAIR_BASE), paired=True)
    verdict = settled_verdict_of(comparison, latency_ratio=1.0)
    assert verdict.observed == pytest.approx(paired_ratio(PAIR_BASE, PAIR_CAND))
    assert verdict.observed == pytest.approx(220 / 300)
    assert verdict.outcome is Outcome.PASS


def test_unpaired_latency_ratio_is_the_ratio_of_medians() -> None:
    comparison = compare(make_result(PAIR_CAND), make_result(PAIR_BASE), paired=False)
    verdict = settled_verdict_of(comparison, latency_ratio=1.0)
    assert verdict.observed == pytest.approx(unpaired_ratio(PAIR_BASE, PAIR_CAND))
    assert verdict.observed == pytest.approx(1.1)
    assert verdict.outcome is Outcome.FAIL


def test_paired_ttft_ratio_drops_pairs_with_a_missing_side() -> None:
    base = make_result([100.0] * 4, ttfts=[10.0, 10.0, 10.0, None])
    cand = make_result([100.0] * 4, ttfts=[20.0, None, 20.0, 90.0])
    verdict = verdict_of(compare(cand, base, paired=True), ttft_ratio=5)
    # Only pairs 0 and 2 have both sides: both are 2x; pair 3's 9x must not count.
    assert verdict.observed == pytest.approx(2.0)


# --- judge: absolute limits ------------------------------------------------------------------

SKEWED = [10.0] * 19 + [1000.0]


@pytest.mark.parametrize(("percentile", "outcome"), [(50.0, Outcome.PASS), (99.0, Outcome.FAIL)])
def test_absolute_latency_uses_the_configured_percentile(
    percentile: float, outcome: Outcome
) -> None:
    comparison = compare(make_result(SKEWED), latency_percentile=percentile)
    verdict = settled_verdict_of(comparison, latency_ms=100)
    assert verdict.outcome is outcome
    assert verdict.observed == pytest.approx(float(np.percentile(SKEWED, percentile)))
    assert verdict.baseline is None


def test_absolute_ttft_uses_the_configured_percentile() -> None:
    ttfts = [5.0] * 19 + [500.0]
    comparison = compare(make_result(SKEWED, ttfts=ttfts), latency_percentile=95.0)
    verdict = settled_verdict_of(comparison, ttft_ms=20)
    assert verdict.observed == pytest.approx(float(np.percentile(ttfts, 95.0)))
    assert verdict.outcome is Outcome.FAIL


def test_absolute_ttft_without_ttft_fails_with_a_note() -> None:
    comparison = compare(make_result([100.0], ttfts=[None]))
    verdict = verdict_of(comparison, ttft_ms=20)
    assert verdict.outcome is Outcome.FAIL
    assert "time to first token" in verdict.note


def test_absolute_output_tokens_and_memory() -> None:
    comparison = compare(make_result(tokens=12, memory_mb=800.0))
    assert verdict_of(comparison, output_tokens=12).outcome is Outcome.PASS
    tokens = verdict_of(comparison, output_tokens=11)
    assert tokens.outcome is Outcome.FAIL
    assert tokens.remedy == LENGTH_REMEDY  # no baseline: nothing shows the answers grew
    assert verdict_of(comparison, memory_mb=1000).outcome is Outcome.PASS
    assert verdict_of(comparison, memory_mb=700).outcome is Outcome.FAIL


# --- judge: missing baseline, other hardware, prices -----------------------------------------


@pytest.mark.parametrize(
    "limits",
    [{"latency_ratio": 2}, {"tokens_ratio": 2}, {"memory_ratio": 2}, {"accuracy_drop": 0.1}],
    ids=lambda limits: next(iter(limits)),
)
def test_relative_limit_without_baseline_fails_with_the_hint(limits: dict[str, float]) -> None:
    verdict = verdict_of(compare(make_result(correct=[True]), None), **limits)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.note == NO_BASELINE_HINT
    assert verdict.candidate is not None
    assert verdict.baseline is None


@pytest.mark.parametrize("limit", ["latency_ratio", "ttft_ratio", "memory_ratio"])
def test_timing_limits_are_not_compared_across_hardware(limit: str) -> None:
    comparison = compare(
        make_result([500.0] * 3, memory_mb=5000.0),
        make_result(),
        timings_comparable=False,
        timings_note="snapshot measured on another GPU",
    )
    verdict = verdict_of(comparison, **{limit: 1.1})
    assert verdict.outcome is Outcome.NOT_COMPARED
    assert not verdict.failed
    assert verdict.note == "snapshot measured on another GPU"


def test_timing_mismatch_can_be_made_to_fail() -> None:
    comparison = compare(
        make_result(),
        make_result(),
        timings_comparable=False,
        timings_note="other hardware",
        timing_mismatch_fails=True,
    )
    verdict = verdict_of(comparison, latency_ratio=1.1)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.note == "other hardware"


def test_token_limits_still_apply_when_timings_are_not_comparable() -> None:
    comparison = compare(
        make_result([500.0] * 3, tokens=30),
        make_result(tokens=10),
        timings_comparable=False,
        timings_note="other hardware",
    )
    latency, tokens, absolute = judge(
        parse_limits((), {"latency_ratio": 1.1, "tokens_ratio": 1.5, "latency_ms": 400}),
        comparison,
    )
    assert latency.outcome is Outcome.NOT_COMPARED
    assert tokens.outcome is Outcome.FAIL
    assert tokens.observed == pytest.approx(3.0)
    # An absolute SLA is measured here and now: it needs no comparable baseline.
    assert absolute.outcome is Outcome.FAIL


@pytest.mark.parametrize("limits", [{"cost_usd": 1.0}, {"cost_ratio": 10}])
def test_cost_limits_without_prices_fail_with_a_note(limits: dict[str, float]) -> None:
    comparison = compare(make_result(), make_result(), has_prices=False)
    verdict = verdict_of(comparison, **limits)
    assert verdict.outcome is Outcome.FAIL
    assert "price_input_per_1m" in verdict.note
    assert "price_output_per_1m" in verdict.note


def test_cost_limits_with_prices() -> None:
    # 20 input tokens at $1/1M plus 10 output tokens at $2/1M = $0.00004 per request
    candidate = make_result(tokens=10, input_tokens=20)
    baseline = make_result(tokens=5, input_tokens=20)
    comparison = compare(candidate, baseline)
    assert verdict_of(compare(candidate), cost_usd=3e-5).remedy == COST_REMEDY
    passed = verdict_of(comparison, cost_usd=5e-5)
    assert passed.outcome is Outcome.PASS
    assert passed.observed == pytest.approx(4e-5)
    failed = verdict_of(comparison, cost_usd=3e-5)
    assert failed.outcome is Outcome.FAIL
    assert failed.remedy == VERBOSITY_REMEDY  # the tokens limit's words: one line for both
    ratio = verdict_of(comparison, cost_ratio=1.2)
    assert ratio.observed == pytest.approx(40 / 30)
    assert ratio.outcome is Outcome.FAIL


# --- judge: accuracy -------------------------------------------------------------------------


def test_min_accuracy_is_a_floor() -> None:
    # The accuracy as measured (accuracy_test="exact"); the default interval: test_quality.py
    comparison = compare(make_result(correct=[True, True, False, False]), accuracy_test="exact")
    at_floor = verdict_of(comparison, min_accuracy=0.5)
    assert at_floor.outcome is Outcome.PASS
    assert at_floor.observed == 0.5
    above = verdict_of(comparison, min_accuracy=0.6)
    assert above.outcome is Outcome.FAIL
    assert above.remedy == QUALITY_REMEDY


def test_accuracy_without_expected_answers_fails_with_a_note() -> None:
    verdict = verdict_of(compare(make_result(correct=[None, None])), min_accuracy=0.5)
    assert verdict.outcome is Outcome.FAIL
    assert "expected=" in verdict.note


def test_accuracy_drop() -> None:
    comparison = compare(
        make_result(correct=[True, True, True, False]),
        make_result(correct=[True] * 4),
        accuracy_test="exact",
    )
    passed = verdict_of(comparison, accuracy_drop=0.3)
    assert passed.outcome is Outcome.PASS
    assert passed.observed == 0.25
    assert (passed.baseline, passed.candidate) == (1.0, 0.75)
    failed = verdict_of(comparison, accuracy_drop=0.2)
    assert failed.outcome is Outcome.FAIL
    assert failed.remedy == QUALITY_REMEDY


def test_accuracy_gain_passes_a_zero_drop() -> None:
    comparison = compare(
        make_result(correct=[True] * 4),
        make_result(correct=[True, False] * 2),
        accuracy_test="exact",
    )
    assert verdict_of(comparison, accuracy_drop=0).outcome is Outcome.PASS


def test_accuracy_drop_without_baseline_accuracy_fails_with_a_note() -> None:
    comparison = compare(make_result(correct=[True]), make_result(correct=[None]))
    verdict = verdict_of(comparison, accuracy_drop=0.1)
    assert verdict.outcome is Outcome.FAIL
    assert "expected=" in verdict.note


def test_accuracy_drop_exactly_at_the_budget_passes() -> None:
    comparison = compare(
        make_result(correct=[True] * 7 + [False] * 3),
        make_result(correct=[True] * 8 + [False] * 2),
        accuracy_test="exact",
    )
    assert verdict_of(comparison, accuracy_drop=0.1).outcome is Outcome.PASS


def test_limit_objects_are_comparable() -> None:
    assert parse_limits((), {"latency_ratio": 1.2}) == [Limit(LIMIT_SPECS["latency_ratio"], 1.2)]


# --- statistical verdicts -------------------------------------------------------------------


def _noisy(median: float, count: int, seed: int) -> list[float]:
    return list(median * np.random.default_rng(seed).lognormal(0.0, 0.1, count))


POLICY = DecisionPolicy(tail_probability=0.005, noise_floor=0.01, seed=0)


def test_clearly_slower_candidate_fails_by_the_interval() -> None:
    base = _noisy(100.0, 60, seed=1)
    cand = [value * 1.5 for value in _noisy(100.0, 60, seed=2)]
    comparison = compare(make_result(cand), make_result(base), policy=POLICY)
    verdict = verdict_of(comparison, latency_ratio=1.2)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.decided_by == "the interval"
    assert verdict.interval is not None and verdict.interval.low > 1.2
    assert verdict.interval.samples == 60
    assert verdict.noise[0] == pytest.approx(0.1, abs=0.04)
    assert verdict.remedy == SPEED_REMEDY


def test_equal_models_pass_by_the_interval() -> None:
    base, cand = _noisy(100.0, 60, seed=3), _noisy(100.0, 60, seed=4)
    comparison = compare(make_result(cand), make_result(base), policy=POLICY)
    verdict = verdict_of(comparison, latency_ratio=1.2)
    assert verdict.outcome is Outcome.PASS and verdict.interval.high <= 1.2


def test_a_ratio_near_its_budget_with_few_samples_is_inconclusive() -> None:
    base, cand = _noisy(100.0, 6, seed=5), [v * 1.2 for v in _noisy(100.0, 6, seed=6)]
    comparison = compare(make_result(cand), make_result(base), policy=POLICY)
    verdict = verdict_of(comparison, latency_ratio=1.2)
    assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.remedy == ""


def test_noise_floor_keeps_a_tight_budget_from_failing_on_no_change() -> None:
    same = _noisy(100.0, 40, seed=7)
    comparison = compare(make_result([v * 1.005 for v in same]), make_result(same), paired=True)
    verdict = verdict_of(comparison, latency_ratio=1.0)
    assert verdict.observed == pytest.approx(1.005)
    assert verdict.outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("rule", "estimate", "outcome"),
    [
        ("estimate", 1.15, Outcome.FAIL),
        ("estimate", 1.05, Outcome.PASS),
        ("pass", 1.15, Outcome.PASS),
        ("fail", 1.05, Outcome.FAIL),
    ],
)
def test_apply_cap_rule_applies_the_rule_at_the_cap(
    rule: str, estimate: float, outcome: Outcome
) -> None:
    limit = parse_limits((), {"latency_ratio": 1.1})[0]
    inconclusive = Verdict(limit, Outcome.INCONCLUSIVE, 10.0, 11.0, estimate, remedy="speed")
    settled = apply_cap_rule(inconclusive, rule, "320 pairs")
    assert settled.outcome is outcome
    assert settled.decided_by.startswith("inconclusive at the cap (320 pairs)")
    assert (settled.remedy != "") is (outcome is Outcome.FAIL)


def test_apply_cap_rule_reports_an_inconclusive_verdict_with_what_would_settle_it() -> None:
    limit = parse_limits((), {"latency_ratio": 1.1})[0]
    inconclusive = Verdict(limit, Outcome.INCONCLUSIVE, 10.0, 11.0, 1.15, remedy="speed")
    settled = apply_cap_rule(inconclusive, "report", "320 pairs", "a quieter machine")
    assert settled.outcome is Outcome.INCONCLUSIVE and not settled.failed
    assert settled.decided_by == "nothing: still inconclusive at the cap (320 pairs)"
    assert settled.note == "what would settle it: a quieter machine"
    assert settled.remedy == ""


def test_apply_cap_rule_leaves_decided_verdicts_alone() -> None:
    limit = parse_limits((), {"latency_ratio": 1.1})[0]
    decided = Verdict(limit, Outcome.PASS, 10.0, 10.0, 1.0)
    assert apply_cap_rule(decided, "fail", "cap") is decided


def test_fixed_length_mode_does_not_compare_tokens_or_cost() -> None:
    comparison = compare(make_result(tokens=48), make_result(tokens=10), mode="fixed_length")
    for limits in ({"tokens_ratio": 1.1}, {"cost_ratio": 1.1}, {"output_tokens": 20}):
        verdict = verdict_of(comparison, **limits)
        assert verdict.outcome is Outcome.NOT_COMPARED
        assert "fixed_length mode" in verdict.note


def test_token_verdicts_say_when_answers_hit_max_new_tokens() -> None:
    capped = make_result(tokens=48)
    capped = GenerationResult(
        tuple(
            PromptSample(
                s.prompt_index,
                s.input_tokens,
                s.text,
                tuple(Run(r.latency_ms, r.ttft_ms, r.output_tokens, True) for r in s.runs),
            )
            for s in capped.samples
        ),
        capped.peak_memory_mb,
        PRICING,
    )
    verdict = verdict_of(compare(capped, make_result(tokens=10)), tokens_ratio=10)
    assert verdict.outcome is Outcome.PASS
    assert "candidate in 100%, baseline in 0% of runs" in verdict.note


def test_parse_budget_takes_a_mode_beside_the_limits() -> None:
    budget = parse_budget((), {"latency_ratio": 1.2, "mode": "fixed_length"})
    assert budget.mode == "fixed_length" and [limit.name for limit in budget.limits] == [
        "latency_ratio"
    ]
    assert parse_budget((), {"latency_ratio": 1.2}).mode is None
    with pytest.raises(
        BudgetError,
        match=re.escape(
            "mode='fast' in assert_within_budget is not a mode. Valid modes: natural, fixed_length"
        ),
    ):
        parse_budget((), {"latency_ratio": 1.2, "mode": "fast"})


def test_a_quantized_candidate_that_is_still_slow_is_not_told_to_quantize() -> None:
    comparison = compare(
        make_result([300.0] * 3), make_result([100.0] * 3), candidate_quantized=True
    )
    verdict = settled_verdict_of(comparison, latency_ratio=1.2)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.remedy == QUANTIZED_SPEED_REMEDY


# --- served models: error rate, throughput, memory not measured --------------------------


def _under_load(requests: int, errors: int) -> GenerationResult:
    load = LoadFigures(4, None, requests, errors, wall_seconds=2.0, output_tokens=100)
    return replace(make_result(), load=load)


def test_error_rate_is_judged_on_the_share_of_failed_requests() -> None:
    assert verdict_of(compare(_under_load(20, 2)), error_rate=0.1).outcome is Outcome.PASS
    failed = verdict_of(compare(_under_load(20, 3)), error_rate=0.1)
    assert failed.outcome is Outcome.FAIL
    assert failed.candidate == pytest.approx(0.15)
    assert "lower the load" in failed.remedy


def test_under_load_an_error_rate_of_zero_is_implied() -> None:
    limits = parse_limits((), {"latency_ms": 100})
    implied = with_implied_limits(limits, under_load=True)
    assert [(limit.name, limit.value) for limit in implied] == [
        ("latency_ms", 100.0),
        ("error_rate", 0.0),
    ]
    assert with_implied_limits(limits, under_load=False) == limits
    own = parse_limits((), {"error_rate": 0.2})
    assert with_implied_limits(own, under_load=True) == own
    (verdict,) = judge(implied[1:], compare(_under_load(10, 1)))
    assert verdict.outcome is Outcome.FAIL


def test_throughput_floor_needs_load() -> None:
    # 18 completed requests in 2 s.
    assert verdict_of(compare(_under_load(20, 2)), min_throughput_rps=9).outcome is Outcome.PASS
    assert verdict_of(compare(_under_load(20, 2)), min_throughput_rps=9.5).outcome is Outcome.FAIL
    unmeasured = verdict_of(compare(make_result()), min_throughput_rps=1)
    assert unmeasured.outcome is Outcome.FAIL
    assert "concurrency=8" in unmeasured.note


def test_memory_of_a_served_model_is_not_passed_as_zero() -> None:
    served = replace(make_result(), peak_memory_mb=None)
    verdict = verdict_of(compare(served), memory_mb=100)
    assert verdict.outcome is Outcome.FAIL
    assert "on the server" in verdict.note


# --- default limits --------------------------------------------------------------------------

DEFAULTS = {"accuracy_drop": 0.0, "latency_ratio": 1.5}


def test_marker_limits_override_defaults_and_say_where_each_came_from() -> None:
    budget = parse_budget((), {"latency_ratio": 2.0, "tokens_ratio": 1.1}, DEFAULTS)
    limits = {limit.name: limit for limit in budget.limits}
    assert limits["latency_ratio"].value == 2.0 and not limits["latency_ratio"].from_default
    assert limits["accuracy_drop"].from_default and not limits["tokens_ratio"].from_default


def test_a_marker_drops_a_default_limit_with_none() -> None:
    budget = parse_budget((), {"accuracy_drop": None}, DEFAULTS)
    assert [limit.name for limit in budget.limits] == ["latency_ratio"]


def test_a_typo_in_a_dropped_limit_is_still_an_error() -> None:
    with pytest.raises(BudgetError, match=r"unknown limit 'acuracy_drop'.*'accuracy_drop'"):
        parse_budget((), {"acuracy_drop": None}, DEFAULTS)


def test_dropping_every_limit_is_an_error_that_says_to_remove_the_marker() -> None:
    with pytest.raises(BudgetError, match=r"drops every limit.*Remove the marker instead"):
        parse_budget((), {"accuracy_drop": None, "latency_ratio": None}, DEFAULTS)


def test_a_default_accuracy_limit_on_a_test_without_answers_is_not_compared() -> None:
    (drop,) = parse_budget((), {"latency_ratio": None}, DEFAULTS).limits
    comparison = compare(make_result(correct=[None]), make_result(correct=[None]))
    (verdict,) = judge([drop], comparison)
    assert verdict.outcome is Outcome.NOT_COMPARED and not verdict.failed
    assert "default limit from [tool.llmperf.budget]" in verdict.note
    assert (
        "expected=" in verdict.note and "assert_within_budget(accuracy_drop=None)" in verdict.note
    )
    # Written in the test's own marker, the same limit fails: the test asked for accuracy.
    (own,) = judge(parse_limits((), {"accuracy_drop": 0.0}), comparison)
    assert own.outcome is Outcome.FAIL


def test_a_default_accuracy_limit_is_judged_where_answers_are_scored() -> None:
    (drop,) = parse_budget((), {"latency_ratio": None}, DEFAULTS).limits
    comparison = compare(
        make_result(correct=[True, False]), make_result(correct=[True, True]), accuracy_test="exact"
    )
    (verdict,) = judge([drop], comparison)
    assert verdict.outcome is Outcome.FAIL


# --- remedies name a cause only when the figures show it -------------------------------------


def test_an_exact_copy_at_a_higher_price_is_told_the_price_not_verbosity() -> None:
    pricier = Pricing(input_per_1m=1.0, output_per_1m=6.0)
    comparison = compare(make_result(pricing=pricier), make_result())
    verdict = verdict_of(comparison, cost_ratio=1.1)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.remedy.startswith("its price per token is higher ($6 vs $2 per 1M output")
    assert "greater length" not in verdict.remedy


def test_longer_answers_and_a_higher_price_are_both_named() -> None:
    pricier = Pricing(input_per_1m=2.0, output_per_1m=2.0)
    comparison = compare(make_result(tokens=20, pricing=pricier), make_result(tokens=10))
    remedy = verdict_of(comparison, cost_ratio=1.1).remedy
    assert remedy.startswith(VERBOSITY_REMEDY)
    assert "its price per token is higher ($2 vs $1 per 1M input tokens)" in remedy


def test_longer_prompts_are_named_for_cost_and_first_token() -> None:
    comparison = compare(
        make_result(input_tokens=40, ttfts=[30.0] * 3), make_result(input_tokens=20)
    )
    assert verdict_of(comparison, cost_ratio=1.1).remedy == PROMPT_REMEDY
    assert verdict_of(comparison, ttft_ratio=1.5).remedy == PROMPT_REMEDY


def test_latency_names_the_factor_that_grew_more() -> None:
    # 1.05x the tokens, each 1.43x slower: the time per token explains it, not the length.
    comparison = compare(make_result([150.0] * 3, tokens=21), make_result([100.0] * 3, tokens=20))
    assert verdict_of(comparison, latency_ratio=1.2).remedy == SPEED_REMEDY


def test_a_latency_rise_nothing_in_the_figures_explains_says_so() -> None:
    # The verdict's per-pair ratio failed, while medians and token counts barely moved.
    comparison = compare(make_result([101.0] * 3), make_result([100.0] * 3))
    remedy = LIMIT_SPECS["latency_ratio"].metric.remedy
    assert remedy(RemedyContext(comparison.candidate, comparison.baseline)) == NO_CAUSE_REMEDY


def test_a_failure_made_by_the_rule_at_the_cap_blames_the_noise_not_the_model() -> None:
    limit = parse_limits((), {"latency_ratio": 1.1})[0]
    inconclusive = Verdict(limit, Outcome.INCONCLUSIVE, 10.0, 11.0, 1.15, remedy="")
    settled = apply_cap_rule(inconclusive, "fail", "320 pairs")
    assert settled.failed
    assert settled.remedy.startswith("the measurement was too noisy to tell")
    assert "--llm-inconclusive=fail" in settled.remedy and "quantize" not in settled.remedy


def test_a_floor_the_baseline_misses_too_is_not_blamed_on_the_fine_tune() -> None:
    comparison = compare(
        make_result(correct=[True, False]),
        make_result(correct=[False, False]),
        accuracy_test="exact",
    )
    remedy = verdict_of(comparison, min_accuracy=0.8).remedy
    assert remedy.startswith("the baseline scores no better (0.000)")
    assert QUALITY_REMEDY not in remedy


# --- floor ratios: candidate / baseline at least the budget -----------------------------------


def _batched(output_tokens: int, wall_seconds: float = 1.0) -> GenerationResult:
    batches = BatchFigures(4, 2, 8, wall_seconds, output_tokens)
    return replace(make_result(), batches=batches)


def test_a_floor_ratio_parses_and_describes_itself_as_a_lowest_ratio() -> None:
    (limit,) = parse_limits((), {"throughput_ratio": 0.9})
    assert limit.spec.kind is Kind.FLOOR_RATIO
    assert limit.describe() == ">= 0.9x"
    assert limit.spec.needs_baseline and limit.spec.is_timing
    assert limit.spec.observed_text(0.85, None) == "0.850x"
    assert limit.is_beyond(0.85) and not limit.is_beyond(0.9) and not limit.is_beyond(1.2)
    with pytest.raises(BudgetError, match="greater than 0"):
        parse_limits((), {"throughput_ratio": 0})


def test_stacked_floor_ratios_keep_the_highest() -> None:
    _, merged = merged_markers([((), {"throughput_ratio": 0.8}), ((), {"throughput_ratio": 0.9})])
    assert merged == {"throughput_ratio": 0.9}


@pytest.mark.parametrize(
    ("candidate_tokens", "outcome"), [(90, Outcome.PASS), (120, Outcome.PASS), (80, Outcome.FAIL)]
)
def test_throughput_ratio_is_the_candidates_throughput_over_the_baselines(
    candidate_tokens: int, outcome: Outcome
) -> None:
    comparison = compare(_batched(candidate_tokens), _batched(100))
    verdict = verdict_of(comparison, throughput_ratio=0.9)
    assert verdict.outcome is outcome
    assert verdict.observed == pytest.approx(candidate_tokens / 100)
    assert (verdict.remedy == "") is (outcome is Outcome.PASS)


def test_throughput_ratio_needs_a_baseline_and_the_same_hardware() -> None:
    alone = verdict_of(compare(_batched(100)), throughput_ratio=0.9)
    assert alone.outcome is Outcome.FAIL and alone.note == NO_BASELINE_HINT
    elsewhere = compare(
        _batched(50), _batched(100), timings_comparable=False, timings_note="other hardware"
    )
    assert verdict_of(elsewhere, throughput_ratio=0.9).outcome is Outcome.NOT_COMPARED


# A floor ratio on a per-run figure: judged on an interval, its lower end deciding.
FLOOR_ON_RUNS = Limit(LimitSpec("runs_floor", metric_named("latency"), Kind.FLOOR_RATIO, ""), 0.9)


def _floor_verdict(factor: float, count: int, seed: int) -> Verdict:
    base = _noisy(100.0, count, seed=seed)
    cand = [value * factor for value in _noisy(100.0, count, seed=seed + 1)]
    (verdict,) = judge(
        [FLOOR_ON_RUNS], compare(make_result(cand), make_result(base), policy=POLICY)
    )
    return verdict


def test_a_statistical_floor_ratio_passes_when_its_interval_lies_above_the_floor() -> None:
    verdict = _floor_verdict(1.0, 60, seed=11)
    assert verdict.outcome is Outcome.PASS and verdict.decided_by == "the interval"
    assert verdict.interval.low >= 0.9


def test_a_statistical_floor_ratio_fails_when_its_interval_lies_below_the_floor() -> None:
    verdict = _floor_verdict(0.6, 60, seed=13)
    assert verdict.outcome is Outcome.FAIL and verdict.decided_by == "the interval"
    assert verdict.interval.high < 0.9 and verdict.remedy


def test_a_statistical_floor_ratio_straddling_its_floor_is_inconclusive() -> None:
    verdict = _floor_verdict(0.9, 6, seed=15)
    assert verdict.interval.low < 0.9 < verdict.interval.high
    assert verdict.outcome is Outcome.INCONCLUSIVE and not verdict.failed
    # The rule at the cap reads the estimate against the floor, from below.
    settled = apply_cap_rule(verdict, "estimate", "synthetic samples")
    assert settled.failed is (verdict.observed < 0.9)


def test_the_noise_floor_keeps_a_floor_ratio_of_one_from_failing_on_no_change() -> None:
    same = _noisy(100.0, 40, seed=17)
    at_one = Limit(FLOOR_ON_RUNS.spec, 1.0)
    comparison = compare(make_result([v * 0.995 for v in same]), make_result(same), paired=True)
    (verdict,) = judge([at_one], comparison)
    assert verdict.observed == pytest.approx(0.995)
    assert verdict.outcome is Outcome.PASS


def test_paired_ratios_carry_the_allowance_for_where_the_weights_lie() -> None:
    """Two copies of one model, 3% apart by their placement in memory: within one process
    the pairs alone would fail a 2% budget; the allowance for 15 placements keeps them open."""
    base = _noisy(100.0, 15, seed=8)
    cand = [value * 1.03 for value in base]
    alone = compare(make_result(cand), make_result(base), paired=True, policy=POLICY)
    assert verdict_of(alone, latency_ratio=1.02).outcome is Outcome.FAIL

    placed = replace(alone, instance_spread=0.03)
    verdict = verdict_of(placed, latency_ratio=1.02)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.interval is not None
    assert verdict.interval.widened_by == pytest.approx(instance_allowance(0.03, 15))
    assert verdict.interval.low < 1.02 < 1.03 < verdict.interval.high
    # a real slowdown still fails through it
    slower = replace(placed, candidate=make_result([value * 1.3 for value in base]))
    assert verdict_of(slower, latency_ratio=1.1).outcome is Outcome.FAIL
