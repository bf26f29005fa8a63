"""Looking at a timing verdict more than once: the plan of looks and the level of each.

A timing verdict is judged on the first runs and, while inconclusive, again after more
(session/until_decided.py). Every look is another chance to fail a good candidate, so the
level of each look must be stricter than the verdict's share of the false-failure rate.
Dividing that share by the number of looks (Bonferroni) pays as if the looks were
independent; they are not (each look holds every run of the one before), and a
group-sequential boundary pays only for what the looks add:

- **Order statistics** (the paired median of log-ratios, a percentile SLA's failure side)
  take exact, distribution-free ranks: the count of runs below the true percentile is
  binomial at every look whatever the distribution of a run (continuous, runs
  independent), and `percentile_fail_tail` finds the nominal tail, the same at every look,
  whose ranks are wrong at some look with at most the decision's share, by carrying that
  count from look to look.
- **Intervals from a bootstrap** (a ratio of medians against a snapshot) take Pocock's
  constant boundary (`pocock_tail`, computed by the recursion of Armitage, McPherson and
  Rowe on a grid): the one nominal tail at every planned look such that a standardised sum
  of independent unit-variance steps crosses it at some look with exactly the share.
- **A percentile SLA passes** once every run is within it after `runs_to_pass` runs (a
  model just over it shows one run over it but with `sla_false_pass_rate`); later looks
  allow a few runs over it only as far as the rate left over covers (`pass_exceedances`).

The plan grows the runs by `GROWTH` a look (not doubling: a verdict reached just past a
look pays at most that factor more than it needed) up to the runs the caps allow, judged
from the time the first runs took (`reachable_runs`): every planned look makes each look
stricter, so looks the cap on seconds would never reach are not planned. Stopping earlier
than planned leaves out looks, which only lowers the chance of crossing.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

# Runs at a look, over those at the look before: a tenth, not a quarter (benchmarks/
# run_counts.py): a denser plan makes each look a little stricter, but a verdict reached
# just past a look waits less for the next; the median runs per verdict fell everywhere,
# the 90th percentile by 10-17% in four cases of five.
GROWTH = 1.1
_GRID_POINTS = 4001  # of the recursion's grid over the standardised sum
_BOUNDARY_TOLERANCE = 1e-4  # standard errors
_HALVINGS = 14  # of the search for a nominal tail: within 0.03% of the largest that holds


def look_sizes(
    first: int, cap: int, step: int, *, also: tuple[int, ...] = (), growth: float = GROWTH
) -> tuple[int, ...]:
    """Runs per model at each look: `first`, then growing by `growth`, in whole passes over
    the prompts (`step` runs a pass), up to as many whole passes as fit under `cap`; `also`
    adds looks at counts a verdict needs (an SLA's fewest runs that can pass it), rounded
    up to whole passes, wherever they fall."""
    step = max(1, step)
    sizes = [first]
    while sizes[-1] < cap:
        grown = max(sizes[-1] + step, _whole_passes(sizes[-1] * growth, step))
        if grown > cap:
            grown = sizes[-1] + (cap - sizes[-1]) // step * step
            if grown == sizes[-1]:
                break
        sizes.append(grown)
    needed = {_whole_passes(count, step) for count in also if count > first}
    return tuple(sorted(set(sizes) | needed))


# Later rounds may run faster than the first runs did (the machine quietens): the plan
# reaches this much further than their pace, since no look past the plan is ever taken.
HORIZON_MARGIN = 1.5


def reachable_runs(runs: int, seconds: float, max_seconds: float, max_runs: int) -> int:
    """The most runs per model the caps allow, from `runs` that took `seconds` (with
    HORIZON_MARGIN): the looks are planned up to there, since a look the seconds cap never
    reaches would only make every other look stricter."""
    if runs <= 0 or seconds <= 0:
        return max_runs
    more = int(HORIZON_MARGIN * max_seconds / (seconds / runs))
    return max(runs, min(max_runs, runs + more))


def _whole_passes(runs: float, step: int) -> int:
    return math.ceil(runs / step - 1e-9) * step


@lru_cache(maxsize=256)
def pocock_tail(sizes: tuple[int, ...], tail: float) -> float:
    """The nominal one-sided tail for every look of `sizes` such that a standardised sum of
    unit-variance steps exceeds its quantile at some look with probability `tail`."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    if len(sizes) <= 1:
        return tail
    low, high = norm.isf(tail), norm.isf(tail / len(sizes)) + 0.5  # one look; Bonferroni
    # To within _BOUNDARY_TOLERANCE, on the side that crosses less: for a plan of 29 looks
    # about 0.13 s instead of 0.3 s at brentq's default tolerance.
    boundary = brentq(lambda c: _crossing(sizes, c) - tail, low, high, xtol=_BOUNDARY_TOLERANCE)
    return float(norm.sf(boundary + _BOUNDARY_TOLERANCE))


def _crossing(sizes: tuple[int, ...], boundary: float) -> float:
    """P(the sum S_n / sqrt(n) reaches `boundary` at one of the looks), S_n a sum of n
    standard normal steps: the density below the boundary carried from look to look."""
    from scipy.signal import fftconvolve
    from scipy.stats import norm

    last = math.sqrt(sizes[-1])
    grid, spacing = np.linspace(-9 * last, boundary * last, _GRID_POINTS, retstep=True)
    mass = norm.pdf(grid, scale=math.sqrt(sizes[0])) * spacing
    crossed = float(norm.sf(boundary))
    mass[grid >= boundary * math.sqrt(sizes[0])] = 0.0
    for before, size in itertools.pairwise(sizes):
        spread = math.sqrt(size - before)
        reach = math.ceil(9 * spread / spacing)
        kernel = norm.pdf(np.arange(-reach, reach + 1) * spacing, scale=spread) * spacing
        carried = fftconvolve(mass, kernel, mode="full")[reach : reach + grid.size]
        # What the step carried above the boundary (or past the grid's end) crossed.
        below = np.clip(carried, 0.0, None)
        below[grid >= boundary * math.sqrt(size)] = 0.0
        crossed += float(mass.sum() - below.sum())
        mass = below
    return crossed


@lru_cache(maxsize=256)
def percentile_fail_tail(sizes: tuple[int, ...], percentile: float, tail: float) -> float:
    """The nominal tail, the same at every look of `sizes`, whose lower order-statistic rank
    (`order_statistic_ranks`) lies above the true percentile at some look with
    probability at most `tail`: a percentile SLA's false failures over its looks. Exact for
    any continuous distribution of runs (the count below the percentile is binomial)."""
    if len(sizes) <= 1:
        return tail
    low, high = tail / len(sizes), tail
    if _fail_crossing(sizes, percentile, high) <= tail:
        return tail
    for _ in range(_HALVINGS):  # `low` holds the share throughout: stopping early is safe
        middle = math.sqrt(low * high)
        if _fail_crossing(sizes, percentile, middle) <= tail:
            low = middle
        else:
            high = middle
    return low


def _fail_crossing(sizes: tuple[int, ...], percentile: float, nominal: float) -> float:
    """P(at some look fewer runs than the lower rank chosen at `nominal` fall below the true
    percentile), carrying the binomial count of runs below it from look to look."""
    crossed = 0.0
    counts = _start_counts(sizes[-1])
    before = 0
    for size in sizes:
        counts = _add_runs(counts, size - before, percentile / 100)
        low_rank, _ = order_statistic_ranks(size, percentile, nominal)
        if low_rank is not None:
            crossed += float(counts[:low_rank].sum())
            counts[:low_rank] = 0.0
        before = size
    return crossed


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


def pass_exceedances(
    sizes: tuple[int, ...], percentile: float, rate: float, runs: int
) -> int | None:
    """How many of `runs` runs may lie above an SLA that the percentile still passes, so that
    a model whose true percentile is over the SLA passes at some look of `sizes` with
    probability at most `rate`; None when no count is safe yet. The rate is spent from the
    first look that can pass (every run within the SLA, once there are enough runs that a
    model over it would show one over it), then on what later looks may allow; a count
    between looks takes the allowance of the look before (fewer runs would allow less)."""
    allowed = _pass_allowances(tuple(sizes), percentile, rate)
    looked = [size for size in allowed if size <= runs]
    return allowed[max(looked)] if looked else None


def runs_to_pass(percentile: float, rate: float) -> int:
    """The fewest runs that can pass a percentile SLA: a model whose percentile is just over
    the SLA puts every one of them within it with probability at most `rate`."""
    return math.ceil(math.log(rate) / math.log(percentile / 100))


@lru_cache(maxsize=256)
def _pass_allowances(
    sizes: tuple[int, ...], percentile: float, rate: float
) -> dict[int, int | None]:
    """Greedy exact spending over the looks: at each, the most runs above the SLA whose
    chance (a model exactly at the SLA: each run above it with 1 - percentile) keeps the
    chance of a pass at any look so far within `rate`."""
    above = 1 - percentile / 100
    counts = _start_counts(sizes[-1])  # runs above the true percentile, not passed yet
    spent, before = 0.0, 0
    allowed: dict[int, int | None] = {}
    for size in sizes:
        counts = _add_runs(counts, size - before, above)
        cumulative = np.cumsum(counts)
        fits = np.nonzero(spent + cumulative <= rate + 1e-12)[0]
        allowance = int(fits.max()) if fits.size else None
        allowed[size] = allowance
        if allowance is not None:
            spent += float(cumulative[allowance])
            counts[: allowance + 1] = 0.0
        before = size
    return allowed


def _start_counts(most: int) -> np.ndarray:
    counts = np.zeros(most + 1)
    counts[0] = 1.0
    return counts


def _add_runs(counts: np.ndarray, runs: int, chance: float) -> np.ndarray:
    """The distribution of a count after `runs` more runs, each counting with `chance`."""
    from scipy.stats import binom

    step = binom.pmf(np.arange(runs + 1), runs, chance)
    return np.convolve(counts, step)[: counts.size]
