"""The decision rule: estimates of timing figures with bootstrap confidence intervals.

Paired samples (both models run alternately on the same requests) give the median of the
per-pair log-ratios, which cancels drift that hits both runs of a pair. Unpaired samples
(a snapshot against today's run) give the difference of the medians of the logs, each
side resampled on its own. Absolute SLAs get an interval for the percentile itself.
Intervals are scipy's percentile bootstrap, seeded, so a verdict is reproducible.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike


class Decision(Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided confidence interval, from `samples` values."""

    estimate: float
    low: float
    high: float
    confidence: float
    samples: int
    paired: bool = False  # samples are pairs of runs (else runs, per model when a ratio)


@dataclass(frozen=True)
class DecisionPolicy:
    """How sure a verdict must be, and how small a change may be ignored.

    `tail_probability` is the chance, for one decision, that a good candidate's interval
    lies wholly beyond its budget: Bonferroni's share of the session's false-failure rate.
    """

    tail_probability: float = 0.025
    noise_floor: float = 0.01
    seed: int = 0

    @property
    def confidence(self) -> float:
        return 1 - 2 * self.tail_probability

    @property
    def resamples(self) -> int:
        # Enough resamples that the tail quantile rests on at least 20 of them.
        return int(min(50_000, max(2_000, math.ceil(20 / self.tail_probability))))


def session_policy(
    false_failure_rate: float, decisions: int, looks: int, noise_floor: float, seed: int
) -> DecisionPolicy:
    """Split the session's false-failure rate over every decision and every look at it."""
    share = false_failure_rate / max(1, decisions) / max(1, looks)
    return DecisionPolicy(tail_probability=share, noise_floor=noise_floor, seed=seed)


def looks_until_cap(first_samples: int, max_samples: int) -> int:
    """How many times a decision may be looked at when the samples double up to the cap."""
    if first_samples >= max_samples:
        return 1
    return 1 + math.ceil(math.log2(max_samples / first_samples))


def _bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    policy: DecisionPolicy,
    paired: bool,
) -> tuple[float, float]:
    if all(np.ptp(sample) == 0 for sample in data):  # no spread: nothing to resample
        value = float(statistic(*data, axis=-1))
        return value, value
    from scipy import stats  # imported on first verdict: every pytest run loads the plugin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            data,
            statistic,
            n_resamples=policy.resamples,
            confidence_level=policy.confidence,
            method="percentile",
            paired=paired,
            vectorized=True,
            random_state=np.random.default_rng(policy.seed),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _positive(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.size == 0 or not np.all(array > 0):
        raise ValueError(f"{name} needs positive values, got {array.size} values")
    return array


def paired_ratio(baseline: ArrayLike, candidate: ArrayLike) -> float:
    """The median of the per-pair ratios candidate_i / baseline_i.

    Equal to exp(median(log ratio)), but exact where the ratios are (the geometric mean of
    the middle two for an even count).
    """
    base = _positive(baseline, "baseline")
    cand = _positive(candidate, "candidate")
    if base.shape != cand.shape:
        raise ValueError(f"paired samples need equal lengths: {base.size} vs {cand.size}")
    ratios = np.sort(cand / base)
    middle = ratios.size // 2
    if ratios.size % 2:
        return float(ratios[middle])
    return float(np.sqrt(ratios[middle - 1] * ratios[middle]))


def unpaired_ratio(baseline: ArrayLike, candidate: ArrayLike) -> float:
    """median(candidate) / median(baseline)."""
    base = _positive(baseline, "baseline")
    cand = _positive(candidate, "candidate")
    return float(np.median(cand) / np.median(base))


def paired_ratio_interval(
    baseline: ArrayLike, candidate: ArrayLike, policy: DecisionPolicy
) -> Interval:
    """The paired ratio with a bootstrap interval of the median log-ratio."""
    estimate = paired_ratio(baseline, candidate)
    log_ratios = np.log(_positive(candidate, "candidate")) - np.log(_positive(baseline, "baseline"))
    low, high = _bootstrap((log_ratios,), np.median, policy, paired=False)
    return Interval(
        estimate, math.exp(low), math.exp(high), policy.confidence, log_ratios.size, paired=True
    )


def _median_log_difference(base: np.ndarray, cand: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(cand, axis=axis) - np.median(base, axis=axis)


def unpaired_ratio_interval(
    baseline: ArrayLike, candidate: ArrayLike, policy: DecisionPolicy
) -> Interval:
    """The ratio of medians with a bootstrap interval, each side resampled on its own."""
    base = np.log(_positive(baseline, "baseline"))
    cand = np.log(_positive(candidate, "candidate"))
    estimate = unpaired_ratio(np.exp(base), np.exp(cand))
    low, high = _bootstrap((base, cand), _median_log_difference, policy, paired=False)
    samples = min(base.size, cand.size)
    return Interval(estimate, math.exp(low), math.exp(high), policy.confidence, samples)


def percentile_interval(values: ArrayLike, percentile: float, policy: DecisionPolicy) -> Interval:
    """A percentile of the values (numpy's linear rule) with a bootstrap interval."""
    array = _positive(values, "values")

    def statistic(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.percentile(sample, percentile, axis=axis)

    low, high = _bootstrap((array,), statistic, policy, paired=False)
    estimate = float(np.percentile(array, percentile))
    return Interval(estimate, low, high, policy.confidence, array.size)


def decide(interval: Interval, budget: float, noise_floor: float) -> Decision:
    """Pass when the interval lies within the budget, fail when it lies beyond it.

    An interval narrower than the noise floor (relative to the budget) that straddles the
    budget will not settle with more samples: its point estimate decides.
    """
    if interval.high <= budget or math.isclose(interval.high, budget, rel_tol=1e-9):
        return Decision.PASS
    if interval.low > budget:
        return Decision.FAIL
    if interval.high - interval.low < 2 * noise_floor * budget:
        return Decision.PASS if interval.estimate <= budget else Decision.FAIL
    return Decision.INCONCLUSIVE


def coefficient_of_variation(values: ArrayLike) -> float:
    """Standard deviation over mean: the noise seen in a set of timings."""
    array = np.asarray(values, dtype=float)
    if array.size < 2 or array.mean() == 0:
        return 0.0
    return float(array.std(ddof=1) / array.mean())
