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

from pytest_llmperf.judge.sequential import (
    order_statistic_ranks,
    pass_exceedances,
    percentile_fail_tail,
    pocock_tail,
)


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
    # An allowance on each side: for a snapshot from another process, or for where two
    # models' weights lie in memory (live pairs).
    widened_by: float = 0.0

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
        a snapshot, whose process may have run faster or slower than this one, or for the
        placement of two models' weights in memory."""
        factor = 1 + shift
        return replace(self, low=self.low / factor, high=self.high * factor, widened_by=shift)


@dataclass(frozen=True)
class DecisionPolicy:
    """How sure a verdict must be, and how small a change may be ignored.

    `tail_probability` is the chance, at one look at one decision, that a good candidate's
    interval lies wholly beyond its budget: the decision's share of the session's
    false-failure rate (Bonferroni over decisions), made stricter for the looks at it as
    runs are added (Pocock's boundary over the planned looks, judge.sequential).
    """

    tail_probability: float = 0.025
    noise_floor: float = 0.01
    seed: int = 0
    # Where the tail came from: the session's rate over its decisions and planned looks.
    false_failure_rate: float = 0.05
    decisions: int = 1
    sizes: tuple[int, ...] = ()  # runs per model at each planned look
    # A percentile SLA passes with at most this chance when the model is over it.
    sla_false_pass_rate: float = 0.05

    @property
    def confidence(self) -> float:
        return 1 - 2 * self.tail_probability

    @property
    def looks(self) -> int:
        return max(1, len(self.sizes))

    @property
    def decision_share(self) -> float:
        """The decision's share of the session's false-failure rate, over all its looks."""
        return self.false_failure_rate / max(1, self.decisions)

    def order_statistic_tail(self, percentile: float) -> float:
        """The nominal tail of an order-statistic bound on the percentile at every look:
        exact over the planned looks (judge.sequential.percentile_fail_tail); with one look,
        the policy's tail."""
        if len(self.sizes) <= 1:
            return self.tail_probability
        return percentile_fail_tail(self.sizes, percentile, self.decision_share)

    def looked_at_once(self) -> DecisionPolicy:
        """The policy of a decision taken once, on data more runs do not add to (a quality
        limit: its questions are all there is): its share of the session's rate, with no
        split over looks."""
        return replace(self, tail_probability=self.decision_share, sizes=())

    @property
    def resamples(self) -> int:
        # Enough resamples that the tail quantile rests on at least 20 of them.
        return int(min(50_000, max(2_000, math.ceil(20 / self.tail_probability))))


def session_policy(
    false_failure_rate: float,
    decisions: int,
    sizes: tuple[int, ...],
    noise_floor: float,
    seed: int,
    sla_false_pass_rate: float = 0.05,
) -> DecisionPolicy:
    """Split the session's false-failure rate over every decision (Bonferroni), and each
    decision's share over its planned looks (`sizes`) by Pocock's boundary."""
    decisions = max(1, decisions)
    share = false_failure_rate / decisions
    tail = pocock_tail(tuple(sizes), share) if len(sizes) > 1 else share
    return DecisionPolicy(
        tail, noise_floor, seed, false_failure_rate, decisions, tuple(sizes), sla_false_pass_rate
    )


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
    """The paired ratio with an exact, distribution-free interval of the median log-ratio:
    order statistics of the per-pair log-ratios, whose count below the true median is
    binomial(pairs, 1/2) whatever the noise, at ranks chosen so that each end is wrong at
    some look of the plan with at most the decision's share (judge.sequential). A
    bootstrap's interval of a median on a few pairs claims more than it holds (a 2% tail
    held 3.3% on 15 normal pairs), and each look would add to that."""
    estimate = paired_ratio(baseline, candidate)
    log_ratios = np.log(_positive(candidate, "candidate")) - np.log(_positive(baseline, "baseline"))
    ordered = np.sort(log_ratios)
    tail = policy.order_statistic_tail(50.0)
    low_rank, high_rank = order_statistic_ranks(ordered.size, 50.0, tail)
    low = math.exp(ordered[low_rank - 1]) if low_rank is not None else 0.0
    high = math.exp(ordered[high_rank - 1]) if high_rank is not None else math.inf
    return Interval(estimate, low, high, 1 - 2 * tail, ordered.size, paired=True)


# The chance, on each side, that the placements' average effect lies beyond its allowance.
INSTANCE_TAIL = 0.001


def instance_allowance(spread: float, placements: int) -> float:
    """How far, relatively, the placement of two models' weights in memory may have moved
    their paired ratio, on each side: two copies of one GPT-2-sized checkpoint ran apart
    by a log-ratio of standard deviation `spread` per placement (benchmarks/instance_bias.py),
    which a new process or a fresh copy of the weights draws anew. Live pairs place both
    models afresh before every pass over the prompts, so `placements` independent draws
    are averaged; their mean lies within this allowance but for INSTANCE_TAIL a side
    (normal, as a mean of draws)."""
    from scipy.stats import norm

    if spread <= 0:
        return 0.0
    z = float(norm.isf(INSTANCE_TAIL))
    return math.expm1(z * spread / math.sqrt(max(1, placements)))


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
    """A percentile of the values (numpy's linear rule) with a distribution-free interval
    from the order statistics (judge.sequential): its lower end a run that lies below the
    true percentile only with the decision's share of the false-failure rate over every
    look, its upper end the largest run but the few a model over the percentile would show
    with at least 1 - sla_false_pass_rate. With too few runs for that an end is open (0
    below, infinity above): an SLA then stays inconclusive until there are more runs."""
    array = np.sort(_positive(values, "values"))
    sizes = policy.sizes or (array.size,)
    fail_tail = policy.order_statistic_tail(percentile)
    low_rank, _ = order_statistic_ranks(array.size, percentile, fail_tail)
    allowed = pass_exceedances(sizes, percentile, policy.sla_false_pass_rate, array.size)
    low = float(array[low_rank - 1]) if low_rank is not None else 0.0
    high = float(array[array.size - 1 - allowed]) if allowed is not None else math.inf
    estimate = float(np.percentile(array, percentile))
    return Interval(estimate, low, high, 1 - fail_tail - policy.sla_false_pass_rate, array.size)


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
