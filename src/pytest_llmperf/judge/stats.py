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
from dataclasses import dataclass, replace
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
    samples: int  # pairs (paired), else the candidate's runs
    paired: bool = False  # samples are pairs of runs (else runs, per model when a ratio)
    baseline_samples: int | None = None  # the baseline's runs, for an unpaired ratio
    widened_by: float = 0.0  # an allowance on each side (a snapshot from another process)

    def within(self, budget: float, *, at_least: bool = False) -> bool:
        """The whole interval on the budget's good side: at or below a ceiling, at or above
        a floor (`at_least`); an end a hair beyond the budget counts as at it."""
        edge = self.low if at_least else self.high
        if math.isclose(edge, budget, rel_tol=1e-9):
            return True
        return edge >= budget if at_least else edge <= budget

    def beyond(self, budget: float, *, at_least: bool = False) -> bool:
        """The whole interval past the budget: above a ceiling, below a floor."""
        return self.high < budget if at_least else self.low > budget

    def widened(self, shift: float) -> Interval:
        """The interval stretched by a factor (1 + shift) on each side: for a ratio against
        a snapshot, whose process may have run faster or slower than this one."""
        factor = 1 + shift
        return replace(self, low=self.low / factor, high=self.high * factor, widened_by=shift)


@dataclass(frozen=True)
class DecisionPolicy:
    """How sure a verdict must be, and how small a change may be ignored.

    `tail_probability` is the chance, for one decision, that a good candidate's interval
    lies wholly beyond its budget: Bonferroni's share of the session's false-failure rate.
    """

    tail_probability: float = 0.025
    noise_floor: float = 0.01
    seed: int = 0
    # Where the tail share came from: the session's rate over its decisions and looks.
    false_failure_rate: float = 0.05
    decisions: int = 1
    looks: int = 1

    @property
    def confidence(self) -> float:
        return 1 - 2 * self.tail_probability

    def looked_at_once(self) -> DecisionPolicy:
        """The policy of a decision taken once, on data more runs do not add to (a quality
        limit: its questions are all there is): its share of the session's rate, with no
        split over looks."""
        share = self.false_failure_rate / max(1, self.decisions)
        return replace(self, tail_probability=share, looks=1)

    @property
    def resamples(self) -> int:
        # Enough resamples that the tail quantile rests on at least 20 of them.
        return int(min(50_000, max(2_000, math.ceil(20 / self.tail_probability))))


def session_policy(
    false_failure_rate: float, decisions: int, looks: int, noise_floor: float, seed: int
) -> DecisionPolicy:
    """Split the session's false-failure rate over every decision and every look at it."""
    decisions, looks = max(1, decisions), max(1, looks)
    share = false_failure_rate / decisions / looks
    return DecisionPolicy(share, noise_floor, seed, false_failure_rate, decisions, looks)


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
    return Interval(
        estimate,
        math.exp(low),
        math.exp(high),
        policy.confidence,
        cand.size,
        baseline_samples=base.size,
    )


def percentile_interval(values: ArrayLike, percentile: float, policy: DecisionPolicy) -> Interval:
    """A percentile of the values (numpy's linear rule) with a distribution-free interval:
    order statistics whose ranks a binomial count puts on either side of the percentile
    with the policy's confidence. With too few runs for that confidence an end is open
    (0 below, infinity above): an SLA then stays inconclusive until there are more runs."""
    array = np.sort(_positive(values, "values"))
    low_rank, high_rank = order_statistic_ranks(array.size, percentile, policy.tail_probability)
    low = float(array[low_rank - 1]) if low_rank is not None else 0.0
    high = float(array[high_rank - 1]) if high_rank is not None else math.inf
    estimate = float(np.percentile(array, percentile))
    return Interval(estimate, low, high, policy.confidence, array.size)


def order_statistic_ranks(
    runs: int, percentile: float, tail_probability: float
) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) of the sorted runs that bound the percentile from below and
    above, each wrong with probability at most `tail_probability`; None where no rank is
    sure enough. The count of runs below the true percentile is binomial(runs, p)."""
    from scipy.stats import binom

    p = percentile / 100
    ranks = np.arange(1, runs + 1)
    # The l-th smallest run lies above the percentile when fewer than l runs fall below it.
    below = binom.cdf(ranks - 1, runs, p)
    low_ok = ranks[below <= tail_probability]
    # The u-th smallest run lies below the percentile when u or more runs fall below it.
    above = binom.sf(ranks - 1, runs, p)
    high_ok = ranks[above <= tail_probability]
    low = int(low_ok.max()) if low_ok.size else None
    high = int(high_ok.min()) if high_ok.size else None
    return low, high


def runs_for_upper_bound(percentile: float, tail_probability: float) -> int:
    """The fewest runs whose largest bounds the percentile from above: p**n <= tail."""
    return math.ceil(math.log(tail_probability) / math.log(percentile / 100))


def decide(
    interval: Interval, budget: float, noise_floor: float, *, at_least: bool = False
) -> Decision:
    """Pass when the interval lies within the budget, fail when it lies beyond it: its
    upper end decides against a ceiling, its lower end against a floor (`at_least`).

    An interval narrower than the noise floor (relative to the budget) that straddles the
    budget will not settle with more samples: its point estimate decides.
    """
    if interval.within(budget, at_least=at_least):
        return Decision.PASS
    if interval.beyond(budget, at_least=at_least):
        return Decision.FAIL
    if interval.high - interval.low < 2 * noise_floor * budget:
        estimate = interval.estimate
        passes = estimate >= budget if at_least else estimate <= budget
        return Decision.PASS if passes else Decision.FAIL
    return Decision.INCONCLUSIVE


def run_to_run_cv(values: ArrayLike, groups: int) -> float:
    """The noise of repeated runs: each group's coefficient of variation (the repeats of one
    prompt, stored one group after another), pooled as the root mean square, so that the
    differences between prompts do not count as noise. The CV of all values when they do
    not split into `groups` groups of two runs or more (one run per prompt: then the spread
    between prompts is the only spread known, and it errs wide)."""
    array = np.asarray(values, dtype=float)
    if groups >= 1 and array.size % groups == 0 and array.size // groups >= 2:
        rows = array.reshape(groups, -1)
        means = rows.mean(axis=1)
        if np.all(means > 0):
            return float(np.sqrt(np.mean((rows.std(axis=1, ddof=1) / means) ** 2)))
    return coefficient_of_variation(array)


def coefficient_of_variation(values: ArrayLike) -> float:
    """Standard deviation over mean: the noise seen in a set of timings."""
    array = np.asarray(values, dtype=float)
    if array.size < 2 or array.mean() == 0:
        return 0.0
    return float(array.std(ddof=1) / array.mean())
