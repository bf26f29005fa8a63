"""The looks at a timing verdict: the plan, Pocock's boundary, and the exact ranks of a
percentile SLA over its looks, checked against published constants and simulation."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from scipy.stats import norm

from pytest_llmperf.judge.sequential import (
    look_sizes,
    order_statistic_ranks,
    pass_exceedances,
    percentile_fail_tail,
    pocock_tail,
    reachable_runs,
    runs_to_pass,
)
from pytest_llmperf.judge.stats import paired_ratio_interval, session_policy

PLAN = (15, 21, 27, 36, 45, 57, 60, 72, 90, 114)


@pytest.mark.parametrize(("looks", "constant"), [(2, 2.178), (5, 2.413)])
def test_pocock_constant_matches_the_published_one(looks: int, constant: float) -> None:
    """Pocock (1977): equally spaced looks, 2.5% one-sided: 2.178 for two, 2.413 for five."""
    tail = pocock_tail(tuple(range(1, looks + 1)), 0.025)
    assert norm.isf(tail) == pytest.approx(constant, abs=0.002)


def test_one_look_is_not_penalised() -> None:
    assert pocock_tail((30,), 0.01) == 0.01


def test_pocock_tail_holds_the_rate_over_the_looks_in_simulation() -> None:
    """A random walk standardised at each look crosses the boundary at some look at the
    rate asked for (20,000 walks: within sampling error of 1%)."""
    tail = pocock_tail(PLAN, 0.01)
    rng = np.random.default_rng(3)
    walks = rng.standard_normal((20_000, PLAN[-1])).cumsum(axis=1)
    sizes = np.array(PLAN)
    standardised = walks[:, sizes - 1] / np.sqrt(sizes)
    crossed = (standardised > norm.isf(tail)).any(axis=1).mean()
    assert crossed == pytest.approx(0.01, abs=0.003)
    assert crossed > 0.01 / len(PLAN) * 2  # far above what Bonferroni's split would give


def test_look_sizes_grow_by_a_tenth_in_whole_passes_up_to_the_cap() -> None:
    sizes = look_sizes(15, 320, 3)
    assert sizes[:9] == (15, 18, 21, 24, 27, 30, 33, 39, 45)
    assert all(size % 3 == 0 for size in sizes) and sizes[-1] <= 320
    assert all(later / earlier <= 1.1 + 3 / earlier for earlier, later in pairwise(sizes))
    assert look_sizes(15, 320, 3, growth=1.25)[:5] == (15, 21, 27, 36, 45)
    assert look_sizes(15, 320, 3, also=(59,)).count(60) == 1  # a look where an SLA can pass
    assert look_sizes(320, 320, 3) == (320,)


def _false_passes(sizes: tuple[int, ...], rate: float, trials: int, draw) -> float:
    """Share of trials in which a model whose p95 is exactly at the SLA passes at a look:
    at some look, no more of its runs are above the SLA than that look allows."""
    rng = np.random.default_rng(7)
    sla = 1.0
    passed = 0
    for _ in range(trials):
        runs = draw(rng, sizes[-1])  # scaled so that P(run > sla) = 0.05
        over = np.cumsum(runs > sla)
        for size in sizes:
            allowed = pass_exceedances(sizes, 95.0, rate, size)
            if allowed is not None and over[size - 1] <= allowed:
                passed += 1
                break
    return passed / trials


@pytest.mark.parametrize(
    "draw",
    [
        # log-normal with its p95 at 1.0
        lambda rng, n: rng.lognormal(-1.645 * 0.3, 0.3, n),
        # bimodal: a slow mode of 8% (above the SLA) and a fast mode of 92%, p95 inside the
        # slow mode: 5% of runs above 1.0 (0.08 x 0.5 / 0.8)
        lambda rng, n: np.where(rng.random(n) < 0.08, rng.uniform(0.7, 1.5, n), 0.5),
    ],
)
def test_a_model_at_its_sla_passes_at_most_at_the_stated_rate_over_every_look(draw) -> None:
    sizes = look_sizes(15, 320, 3, also=(runs_to_pass(95.0, 0.05),))
    assert _false_passes(sizes, 0.05, 2000, draw) <= 0.05 + 0.015


def test_no_pass_before_enough_runs_then_every_run_within() -> None:
    needed = runs_to_pass(95.0, 0.05)
    assert needed == 59
    assert pass_exceedances(PLAN, 95.0, 0.05, 57) is None
    assert pass_exceedances(PLAN, 95.0, 0.05, 60) == 0
    assert pass_exceedances(PLAN, 95.0, 0.05, 70) == 0  # between looks: the look before's


def test_the_failure_side_holds_its_share_over_every_look() -> None:
    """A model exactly at the SLA (p95 at it) is failed at some look (the lower rank above
    the SLA) at most at the share: exact by the binomial count, checked by simulation."""
    share = 0.02
    nominal = percentile_fail_tail(PLAN, 95.0, share)
    assert share / len(PLAN) < nominal <= share
    rng = np.random.default_rng(11)
    trials = 4000
    below = np.cumsum(rng.random((trials, PLAN[-1])) < 0.95, axis=1)
    failed = np.zeros(trials, dtype=bool)
    for size in PLAN:
        low_rank, _ = order_statistic_ranks(size, 95.0, nominal)
        if low_rank is not None:
            failed |= below[:, size - 1] < low_rank
    assert failed.mean() <= share + 0.007


def test_looks_are_planned_up_to_what_the_seconds_cap_reaches() -> None:
    """15 pairs of a GPT-2-sized model took 32 s: 60 s more reach 28 pairs more at that
    pace, 42 with the margin for a faster machine later, so no look is planned past 57, and
    each look is less strict than with looks up to 320."""
    horizon = reachable_runs(15, 32.0, 60.0, 320)
    assert horizon == 57
    near, far = look_sizes(15, horizon, 3), look_sizes(15, 320, 3)
    assert near[-1] <= 57 < far[-1]
    assert pocock_tail(near, 0.025) > pocock_tail(far, 0.025)
    assert reachable_runs(15, 0.15, 60.0, 320) == 320  # a fast model: the cap on runs


def test_the_paired_interval_fails_a_candidate_at_its_budget_at_most_at_its_share() -> None:
    """A candidate exactly at its budget, heavy-tailed noise (Student's t, 3 degrees of
    freedom), looked at at every planned look: the interval lies wholly above the budget at
    some look in at most the decision's share of trials (exact sign-test ranks; a bootstrap
    of the median, used before, failed 13% at a 10% share)."""
    share, budget = 0.10, 1.10
    policy = session_policy(share, 1, PLAN, 0.0, 0)
    rng = np.random.default_rng(13)
    log_ratios = np.log(budget) + 0.15 * rng.standard_t(3, (4000, PLAN[-1]))
    failed = np.zeros(len(log_ratios), dtype=bool)
    for size in PLAN:
        low_rank, _ = order_statistic_ranks(size, 50.0, policy.order_statistic_tail(50.0))
        assert low_rank is not None
        failed |= np.sort(log_ratios[:, :size], axis=1)[:, low_rank - 1] > np.log(budget)
    assert failed.mean() <= share + 0.015
    # The plugin's interval is those ranks.
    baseline = np.full(PLAN[0], 100.0)
    interval = paired_ratio_interval(baseline, baseline * np.exp(log_ratios[0, : PLAN[0]]), policy)
    low_rank, _ = order_statistic_ranks(PLAN[0], 50.0, policy.order_statistic_tail(50.0))
    assert interval.low == pytest.approx(np.exp(np.sort(log_ratios[0, : PLAN[0]])[low_rank - 1]))
