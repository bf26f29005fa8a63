"""Quality under noise: intervals for accuracy, and the pairing of answers by question.

Accuracy is exact for one set of questions but not for the model: on 32 questions one
flipped answer moves it by 3 points, and bf16 against fp32, or another batch size, flips a
few answers each way. A quality limit is therefore judged on an interval for what the
questions are a sample of. Plain functions on arrays (verdicts.py turns them into verdicts):

- `paired_score`: right/wrong answers paired by question. Only the discordant pairs (right
  on one side, wrong on the other) carry information about the difference: the interval is
  Tango's score interval for a difference of paired proportions (Tango 1998; recommended by
  Fagerland, Lydersen and Laake 2014), the differences at which the score test on the
  discordant counts, with the share of right->wrong answers at its constrained maximum
  likelihood, is not rejected. Its coverage is not exact but close to nominal, also with no
  changed answer or all changed one way (tests/unit/test_quality.py simulates it). The
  exact conditional interval (Clopper-Pearson for the share of wrong->right among the d
  discordant pairs, mapped to the difference at the observed rate d / n) was tried first and
  dropped: it ignores how d itself varies, and held the true difference in only 69% of
  simulated sets of 400 questions where a candidate lost answers mostly one way (10%
  right->wrong, 2% back), a real regression's shape.
- `paired_bootstrap`: graded scores in [0, 1] paired by question: a seeded percentile
  bootstrap of the mean difference.
- `cluster_bootstrap`: several samples per question: questions are resampled whole, with
  their samples, so that a question's samples do not count as independent evidence.
- `unpaired_difference`: answers that cannot be paired (different questions, counts, or
  prompts): Newcombe's hybrid score interval from two Wilson intervals.
- `clopper_pearson`: one model's accuracy (k right of n), for `min_accuracy`.
- `questions_to_settle`: about how many questions would make an interval clear a budget.

Every interval is two-sided with `tail` in each tail (a decision's share of the session's
false-failure rate, stats.DecisionPolicy).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Bounds:
    """An estimate and its interval, and the method that made it."""

    estimate: float
    low: float
    high: float
    method: str


def clopper_pearson(successes: float, trials: float, tail: float) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval for a binomial share: beta quantiles, each end
    wrong with probability at most `tail`. `successes` may be fractional (a graded score's
    sum), where the beta quantiles still give a sensible interval."""
    from scipy.stats import beta

    if trials <= 0:
        return 0.0, 1.0
    low = 0.0 if successes <= 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    high = (
        1.0 if successes >= trials else float(beta.ppf(1 - tail, successes + 1, trials - successes))
    )
    return low, high


def accuracy_interval(successes: float, trials: int, tail: float) -> Bounds:
    """One model's accuracy with its Clopper-Pearson interval."""
    low, high = clopper_pearson(successes, trials, tail)
    return Bounds(successes / trials, low, high, "Clopper-Pearson")


def _binary(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must be right/wrong outcomes (0 or 1)")
    return array


def discordant(baseline: ArrayLike, candidate: ArrayLike) -> tuple[int, int]:
    """(right->wrong, wrong->right) over answers paired by question."""
    base, cand = _binary(baseline, "baseline"), _binary(candidate, "candidate")
    if base.shape != cand.shape:
        raise ValueError(f"paired outcomes need equal lengths: {base.size} vs {cand.size}")
    return int(np.sum((base == 1) & (cand == 0))), int(np.sum((base == 0) & (cand == 1)))


def paired_score(baseline: ArrayLike, candidate: ArrayLike, tail: float) -> Bounds:
    """The difference candidate - baseline of right/wrong answers paired by question, with
    Tango's score interval from the discordant pairs (module docstring)."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    base = _binary(baseline, "baseline")
    n = base.size
    if n == 0:
        raise ValueError("paired outcomes need at least one question")
    worse, better = discordant(base, candidate)
    estimate = (better - worse) / n
    z = float(norm.isf(tail))

    def score(delta: float) -> float:
        # The constrained maximum-likelihood share of right->wrong answers given delta.
        a = 2 * n
        b = -worse - better + (2 * n - better + worse) * delta
        c = -worse * delta * (1 - delta)
        q = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)
        gap = better - worse - n * delta
        variance = n * (2 * q + delta * (1 - delta))
        if gap == 0 or variance <= 0:
            return 0.0 if gap == 0 else math.copysign(math.inf, gap)
        return gap / math.sqrt(variance)

    edge = 1 - 1e-12  # the score's variance vanishes at +-1
    high = 1.0 if score(edge) >= -z else brentq(lambda d: score(d) + z, estimate, edge)
    low = -1.0 if score(-edge) <= z else brentq(lambda d: score(d) - z, -edge, estimate)
    return Bounds(estimate, low, high, "Tango's score interval")


def _bootstrap(data: tuple[np.ndarray, ...], statistic, tail: float, seed: int, paired: bool):
    from scipy import stats

    resamples = int(min(50_000, max(2_000, math.ceil(20 / tail))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            data,
            statistic,
            n_resamples=resamples,
            confidence_level=1 - 2 * tail,
            method="percentile",
            paired=paired,
            vectorized=True,
            random_state=np.random.default_rng(seed),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _scores(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.size == 0 or not np.all((array >= 0) & (array <= 1)):
        raise ValueError(f"{name} needs scores in [0, 1], got {array.size} values")
    return array


def paired_bootstrap(baseline: ArrayLike, candidate: ArrayLike, tail: float, seed: int) -> Bounds:
    """The mean difference candidate - baseline of graded scores paired by question, with a
    seeded percentile bootstrap interval over questions."""
    base, cand = _scores(baseline, "baseline"), _scores(candidate, "candidate")
    if base.shape != cand.shape:
        raise ValueError(f"paired scores need equal lengths: {base.size} vs {cand.size}")
    differences = cand - base
    estimate = float(differences.mean())
    if np.ptp(differences) == 0:
        return Bounds(estimate, estimate, estimate, "paired bootstrap")
    low, high = _bootstrap((differences,), np.mean, tail, seed, paired=False)
    return Bounds(estimate, low, high, "paired bootstrap")


def cluster_bootstrap(
    baseline: Sequence[ArrayLike], candidate: Sequence[ArrayLike], tail: float, seed: int
) -> Bounds:
    """The difference of mean scores when each question has several samples (one array per
    question and side, the same questions in the same order): questions are resampled whole,
    each with all its samples, and each side's mean is over the samples of the resampled
    questions."""
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("cluster bootstrap needs the same questions on both sides")
    base = [_scores(group, "baseline") for group in baseline]
    cand = [_scores(group, "candidate") for group in candidate]
    sums = np.array([[b.sum(), b.size, c.sum(), c.size] for b, c in zip(base, cand, strict=True)])
    estimate = float(sums[:, 2].sum() / sums[:, 3].sum() - sums[:, 0].sum() / sums[:, 1].sum())
    per_question = sums[:, 2] / sums[:, 3] - sums[:, 0] / sums[:, 1]
    if np.ptp(per_question) == 0:
        return Bounds(estimate, estimate, estimate, "cluster bootstrap")
    index = np.arange(len(base))

    def statistic(chosen: np.ndarray, axis: int = -1) -> np.ndarray:
        picked = sums[chosen.astype(int)]  # (..., questions, 4)
        totals = picked.sum(axis=-2)
        return totals[..., 2] / totals[..., 3] - totals[..., 0] / totals[..., 1]

    low, high = _bootstrap((index,), statistic, tail, seed, paired=False)
    return Bounds(estimate, low, high, "cluster bootstrap")


def wilson(successes: float, trials: int, tail: float) -> tuple[float, float]:
    """Wilson's score interval for a share, each end wrong with about `tail`."""
    from scipy.stats import norm

    z = float(norm.isf(tail))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2))
    return max(0.0, centre - half), min(1.0, centre + half)


def unpaired_difference(
    baseline_right: float, baseline_n: int, candidate_right: float, candidate_n: int, tail: float
) -> Bounds:
    """candidate - baseline accuracy of two independent samples of questions, with
    Newcombe's hybrid score interval (his method 10, from Wilson intervals)."""
    if baseline_n <= 0 or candidate_n <= 0:
        raise ValueError("both sides need at least one scored answer")
    p_base, p_cand = baseline_right / baseline_n, candidate_right / candidate_n
    base_low, base_high = wilson(baseline_right, baseline_n, tail)
    cand_low, cand_high = wilson(candidate_right, candidate_n, tail)
    estimate = p_cand - p_base
    low = estimate - math.hypot(p_cand - cand_low, base_high - p_base)
    high = estimate + math.hypot(cand_high - p_cand, p_base - base_low)
    return Bounds(estimate, low, high, "Newcombe's unpaired interval")


def questions_to_settle(
    estimate: float, low: float, high: float, budget: float, questions: int
) -> int | None:
    """About how many questions would make the interval clear the budget, at the rates seen
    (discordance, accuracy): the half-width on the budget's side shrinks as 1/sqrt(n), and
    the estimate stays. A rough estimate; None when the estimate sits at the budget (no
    number of questions would settle it) or the interval already clears it."""
    gap = abs(estimate - budget)
    half = (high - estimate) if budget >= estimate else (estimate - low)
    if gap <= 1e-12 or half <= gap:
        return None
    return math.ceil(questions * (half / gap) ** 2)


def trials_to_settle(successes: int, trials: int, floor: float, tail: float) -> int | None:
    """About how many trials at the same share would put the exact interval clear of
    `floor` (above or below it): the smallest such count, searched by doubling then
    bisection. None when the share sits at the floor (no count would settle it)."""
    share = successes / trials

    def settles(count: int) -> bool:
        low, high = clopper_pearson(share * count, count, tail)
        return low >= floor or high < floor

    if math.isclose(share, floor, abs_tol=1e-12):
        return None
    if settles(trials):
        return trials
    low, high = trials, trials * 2
    while not settles(high):
        if high > 10**9:
            return None
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if settles(middle) else (middle, high)
    return high
