"""Ratio estimates on synthetic samples with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_llmperf.judge.sequential import runs_to_pass
from pytest_llmperf.judge.stats import (
    Decision,
    DecisionPolicy,
    Interval,
    coefficient_of_variation,
    decide,
    paired_ratio,
    paired_ratio_interval,
    percentile_interval,
    session_policy,
    unpaired_ratio,
    unpaired_ratio_interval,
)


def test_paired_ratio_of_a_uniform_doubling_is_two() -> None:
    assert paired_ratio([10, 20, 30], [20, 40, 60]) == pytest.approx(2.0, rel=1e-12)


def test_paired_ratio_of_a_uniform_doubling_is_exactly_two() -> None:
    assert paired_ratio([10, 20, 30], [20, 40, 60]) == 2.0


def test_paired_ratio_is_the_median_pair_ratio() -> None:
    # pair ratios 1.1, 3.0 and 0.9: the outlier pair does not move the estimate
    assert paired_ratio([100, 100, 100], [110, 300, 90]) == pytest.approx(1.1)


def test_paired_ratio_of_an_even_count_is_the_geometric_mean_of_the_middle_pairs() -> None:
    # pair ratios 2 and 8: the median of their logs is log 4
    assert paired_ratio([1, 1], [2, 8]) == pytest.approx(4.0)


def test_paired_ratio_cancels_drift_that_hits_both_runs_of_a_pair() -> None:
    # The machine slows down 10x over the run; each pair sees the same slowdown.
    drift = np.array([1.0, 2.0, 5.0, 10.0, 10.0])
    baseline = 100 * drift
    candidate = 120 * drift
    assert paired_ratio(baseline, candidate) == pytest.approx(1.2)


def test_paired_ratio_is_symmetric() -> None:
    base, cand = [100, 130, 90, 210], [120, 110, 95, 400]
    assert paired_ratio(base, cand) * paired_ratio(cand, base) == pytest.approx(1.0)


def test_paired_ratio_of_identical_samples_is_one() -> None:
    values = [12.5, 13.0, 40.0]
    assert paired_ratio(values, values) == pytest.approx(1.0)


def test_paired_ratio_accepts_arrays_and_tuples() -> None:
    assert paired_ratio(np.array([1.0, 2.0]), (3.0, 6.0)) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("baseline", "candidate"),
    [([10, 20, 30], [20, 40]), ([10], [20, 40])],
)
def test_paired_ratio_needs_equal_lengths(baseline: list[float], candidate: list[float]) -> None:
    with pytest.raises(ValueError, match="equal lengths") as excinfo:
        paired_ratio(baseline, candidate)
    assert f"{len(baseline)} vs {len(candidate)}" in str(excinfo.value)


@pytest.mark.parametrize(("baseline", "candidate"), [([], []), ([1.0, 0.0], [1.0, 2.0])])
def test_paired_ratio_needs_positive_values(baseline: list[float], candidate: list[float]) -> None:
    with pytest.raises(ValueError, match="needs positive values"):
        paired_ratio(baseline, candidate)


def test_unpaired_ratio_is_the_ratio_of_medians() -> None:
    assert unpaired_ratio([10, 20, 30], [20, 40, 60]) == 2.0
    assert unpaired_ratio([100, 1, 100], [300, 150, 150]) == 1.5


def test_unpaired_ratio_allows_unequal_lengths() -> None:
    assert unpaired_ratio([1, 2, 3], [4]) == 2.0
    assert unpaired_ratio([10, 30], [5, 15, 25]) == pytest.approx(0.75)


@pytest.mark.parametrize(("baseline", "candidate"), [([], [1.0]), ([1.0], []), ([], [])])
def test_unpaired_ratio_needs_values_on_each_side(
    baseline: list[float], candidate: list[float]
) -> None:
    with pytest.raises(ValueError, match="needs positive values"):
        unpaired_ratio(baseline, candidate)


def test_paired_and_unpaired_differ_when_pairs_matter() -> None:
    base, cand = [100, 200, 300], [330, 110, 220]
    assert paired_ratio(base, cand) == pytest.approx(220 / 300)
    assert unpaired_ratio(base, cand) == pytest.approx(1.1)


def test_coefficient_of_variation_known_answer() -> None:
    # sample standard deviation of 2, 4, 6 is 2; the mean is 4
    assert coefficient_of_variation([2, 4, 6]) == pytest.approx(0.5)


@pytest.mark.parametrize("values", [[], [5.0], [0.0, 0.0], [3.0, 3.0, 3.0]])
def test_coefficient_of_variation_is_zero_without_spread(values: list[float]) -> None:
    result = coefficient_of_variation(values)
    assert result == 0.0
    assert not math.isnan(result)


# -- intervals and decisions -------------------------------------------------------------

POLICY = DecisionPolicy(tail_probability=0.005, noise_floor=0.01, seed=0)


def _lognormal(median: float, sigma: float, size: int, seed: int) -> np.ndarray:
    return median * np.random.default_rng(seed).lognormal(0.0, sigma, size)


def test_paired_interval_covers_a_known_ratio_and_excludes_nearby_budgets() -> None:
    baseline = _lognormal(100.0, 0.2, 200, seed=1)
    noise = _lognormal(1.0, 0.05, 200, seed=2)
    interval = paired_ratio_interval(baseline, baseline * 1.25 * noise, POLICY)
    assert interval.low < 1.25 < interval.high
    assert interval.low > 1.10 and interval.high < 1.40
    assert interval.samples == 200 and interval.confidence == pytest.approx(0.99)


def test_pairing_cancels_shared_noise_that_unpaired_intervals_keep() -> None:
    baseline = _lognormal(100.0, 0.3, 100, seed=3)  # large drift shared by both runs of a pair
    candidate = baseline * 1.2
    paired = paired_ratio_interval(baseline, candidate, POLICY)
    unpaired = unpaired_ratio_interval(baseline, candidate, POLICY)
    assert paired.low == pytest.approx(1.2) and paired.high == pytest.approx(1.2)
    assert unpaired.high - unpaired.low > 0.1


def test_intervals_are_reproducible_for_a_seed() -> None:
    baseline, candidate = _lognormal(10, 0.2, 50, 4), _lognormal(11, 0.2, 50, 5)
    first = unpaired_ratio_interval(baseline, candidate, POLICY)
    assert unpaired_ratio_interval(baseline, candidate, POLICY) == first
    other_seed = DecisionPolicy(tail_probability=0.005, seed=9)
    assert unpaired_ratio_interval(baseline, candidate, other_seed) != first


def test_percentile_interval_brackets_the_percentile() -> None:
    values = np.arange(1.0, 1001.0)
    interval = percentile_interval(values, 95.0, POLICY)
    assert interval.estimate == pytest.approx(950.05)
    assert interval.low < 950.05 < interval.high
    assert interval.low > 900 and interval.high < 1000


def test_percentile_interval_of_few_runs_has_an_open_upper_end() -> None:
    """Five runs cannot bound p95 from above: each lies below it with chance 0.95, all five
    with 0.77, far more than the 5% chance of a wrong pass allowed. The largest run is no
    upper bound until there are enough runs that all of them below it is that unlikely."""
    interval = percentile_interval([10.0, 11.0, 12.0, 13.0, 14.0], 95.0, POLICY)
    assert interval.high == math.inf
    assert decide(interval, budget=1000.0, noise_floor=0.01) is Decision.INCONCLUSIVE
    needed = runs_to_pass(95.0, POLICY.sla_false_pass_rate)
    assert 0.95**needed <= POLICY.sla_false_pass_rate < 0.95 ** (needed - 1)
    assert percentile_interval(np.linspace(10, 14, needed - 1), 95.0, POLICY).high == math.inf
    enough = percentile_interval(np.linspace(10, 14, needed), 95.0, POLICY)
    assert enough.high == 14.0


@pytest.mark.parametrize("percentile", [50.0, 90.0, 95.0, 99.0])
def test_order_statistic_interval_covers_as_claimed(percentile: float) -> None:
    """Coverage on skewed samples is at least the claimed confidence (binomial exactness)."""
    rng = np.random.default_rng(1)
    policy = DecisionPolicy(tail_probability=0.05)
    truth = float(np.exp(stats_norm_ppf(percentile / 100)))  # lognormal(0, 1) quantile
    misses_low = misses_high = 0
    trials = 400
    for _ in range(trials):
        interval = percentile_interval(rng.lognormal(0, 1, 120), percentile, policy)
        misses_low += interval.low > truth
        misses_high += interval.high < truth
    # Each tail at most 5% in expectation; allow sampling error of the 400 trials.
    assert misses_low / trials <= 0.05 + 0.035
    assert misses_high / trials <= 0.05 + 0.035


def stats_norm_ppf(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def test_interval_of_enough_constant_samples_is_a_point() -> None:
    interval = percentile_interval([5.0] * 200, 95.0, POLICY)
    assert (interval.low, interval.estimate, interval.high) == (5.0, 5.0, 5.0)
    assert percentile_interval([5.0] * 10, 95.0, POLICY).high == math.inf


@pytest.mark.parametrize(
    ("low", "estimate", "high", "decision"),
    [
        (0.95, 1.00, 1.05, Decision.PASS),  # wholly within 1.10
        (1.12, 1.20, 1.30, Decision.FAIL),  # wholly beyond
        (1.00, 1.08, 1.20, Decision.INCONCLUSIVE),  # straddles, wide
        (1.095, 1.098, 1.104, Decision.PASS),  # straddles, narrower than the noise floor
        (1.097, 1.102, 1.106, Decision.FAIL),
        (1.00, 1.05, 1.10, Decision.PASS),  # at the budget is within it
    ],
)
def test_decide(low: float, estimate: float, high: float, decision: Decision) -> None:
    interval = Interval(estimate, low, high, 0.99, 30)
    assert decide(interval, budget=1.10, noise_floor=0.01) is decision


def test_session_policy_splits_the_rate_over_decisions() -> None:
    policy = session_policy(0.05, decisions=5, sizes=(), noise_floor=0.01, seed=0)
    assert policy.tail_probability == pytest.approx(0.01)
    assert policy.confidence == pytest.approx(0.98)
    assert policy.resamples >= 20 / 0.01


def test_session_policy_pays_for_looks_less_than_bonferroni() -> None:
    """Nine looks, each holding the runs of the one before: stricter than one look, looser
    than the rate split nine ways."""
    sizes = (15, 21, 27, 36, 45, 57, 72, 90, 114)
    policy = session_policy(0.05, decisions=5, sizes=sizes, noise_floor=0.01, seed=0)
    assert 0.01 / len(sizes) < policy.tail_probability < 0.01
    assert policy.looks == len(sizes)
