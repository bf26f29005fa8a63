"""Estimates of candidate/baseline ratios from timing samples.

Paired samples (both models run alternately on the same requests) give the median of the
per-pair log-ratios, which cancels drift that hits both runs of a pair. Unpaired samples
(a snapshot against today's run) give the ratio of the medians.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def paired_ratio(baseline: ArrayLike, candidate: ArrayLike) -> float:
    """exp(median(log(candidate_i / baseline_i))) over aligned pairs."""
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    if base.shape != cand.shape or base.size == 0:
        raise ValueError(f"paired samples need equal, non-zero lengths: {base.size} vs {cand.size}")
    # The median of the ratios themselves (the geometric mean of the middle two for an even
    # count) equals exp(median(log ratio)) but stays exact where the ratios are.
    ratios = np.sort(cand / base)
    middle = ratios.size // 2
    if ratios.size % 2:
        return float(ratios[middle])
    return float(np.sqrt(ratios[middle - 1] * ratios[middle]))


def unpaired_ratio(baseline: ArrayLike, candidate: ArrayLike) -> float:
    """median(candidate) / median(baseline)."""
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    if base.size == 0 or cand.size == 0:
        raise ValueError("unpaired samples need at least one value on each side")
    return float(np.median(cand) / np.median(base))


def coefficient_of_variation(values: ArrayLike) -> float:
    """Standard deviation over mean: the noise seen in a set of timings."""
    array = np.asarray(values, dtype=float)
    if array.size < 2 or array.mean() == 0:
        return 0.0
    return float(array.std(ddof=1) / array.mean())
