"""Ratio estimates on synthetic samples with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_llmperf.stats import coefficient_of_variation, paired_ratio, unpaired_ratio


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
    [([10, 20, 30], [20, 40]), ([10], [20, 40]), ([], [])],
)
def test_paired_ratio_needs_equal_non_zero_lengths(
    baseline: list[float], candidate: list[float]
) -> None:
    with pytest.raises(ValueError, match="equal, non-zero lengths") as excinfo:
        paired_ratio(baseline, candidate)
    assert f"{len(baseline)} vs {len(candidate)}" in str(excinfo.value)


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
    with pytest.raises(ValueError, match="at least one value"):
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
