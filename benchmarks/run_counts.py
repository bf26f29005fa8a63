"""Runs per timing verdict, and its error rates over every look (issue 25).

Simulated runs judged by the plugin's own decision pieces (judge/sequential.py and
judge/stats.py: the plan of looks, the session policy, the bootstrap interval of the paired
median log-ratio, the order-statistic interval of a percentile, the decision rule), look by
look as session/until_decided.py takes them, stopping at the first decided look.

1. `latency_ratio=1.10` at true ratios 1.0, 1.05, 1.2 and 2.0: runs per verdict (median and
   90th percentile) under today's plan (`--growth`: the runs a look over the last, the
   plugin's GROWTH by default; Pocock's boundary; the looks planned up to what the caps
   allow: 320 runs of a fast model, about 57 pairs of a GPT-2-sized one in 60 s) and the
   plan before it (doubling, the share split over the looks, Bonferroni), beside the
   oracle: the runs a fixed-size test of the same statistic needs at the same error rate,
   knowing the true noise, to reach the verdict with 90% probability (the usual yardstick of
   a sequential design: same error rate, same power) and with 50%; and beside the exact
   oracle, the same for the exact sign-test interval the plugin takes (by simulation).
2. False failures over every look at the budget itself (true ratio 1.10: a failure there is
   a false one) and on an exact copy (1.0). The plan before is run with its own interval
   (a percentile bootstrap of the median), today's with the exact sign-test interval.
3. A p95 SLA on hard latency distributions (log-normal, Pareto tails, bimodal with a slow
   mode): how often it passes when the SLA sits at the true p95 (a wrong pass; the rate
   asked is sla_false_pass_rate = 5%), passes at a 1.5x margin, and fails a 1.5x miss, and
   after how many runs.

    PYTHONPATH=src .venv/bin/python benchmarks/run_counts.py [--trials 200] [--growth 1.25 1.1]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from pytest_llmperf.judge.sequential import (
    GROWTH,
    look_sizes,
    order_statistic_ranks,
    reachable_runs,
    runs_to_pass,
)
from pytest_llmperf.judge.stats import (
    Decision,
    DecisionPolicy,
    Interval,
    decide,
    paired_ratio_interval,
    percentile_interval,
    session_policy,
)

BUDGET = 1.10
FIRST, CAP, PROMPTS = 15, 320, 3
DECISIONS = 2  # latency_ms and latency_ratio (tokens_ratio is exact)
RATE = 0.05

Noise = Callable[[np.random.Generator, int], np.ndarray]


def normal(sd: float) -> Noise:
    return lambda rng, n: rng.normal(0.0, sd, n)


def student3(sd: float) -> Noise:
    return lambda rng, n: rng.standard_t(3, n) * sd / math.sqrt(3.0)


# The density at 0 of each noise, for the median's spread: var(median) = 1 / (4 n f(0)^2).
def density_at_zero(name: str, sd: float) -> float:
    if name == "normal":
        return 1 / (sd * math.sqrt(2 * math.pi))
    scale = sd / math.sqrt(3.0)  # t(3) scaled
    from scipy.stats import t

    return float(t.pdf(0, 3) / scale)


def plans(growths: tuple[float, ...]) -> dict[str, DecisionPolicy]:
    """The plan at each growth of the runs a look, where the caps allow 320 runs (a fast
    model) and where the 60 s cap stops a GPT-2-sized model (1.06 s a run, 2.1 s a pair)
    where the looks end (57 pairs, HORIZON_MARGIN past its pace), and the plan before
    them (doubling, Bonferroni)."""
    share = RATE / DECISIONS
    gpt2 = reachable_runs(FIRST, FIRST * 2.12, 60.0, CAP)
    doubling = (15, 30, 60, 120, 240, 320)
    policies = {}
    for growth in growths:
        for where, cap in (("fast model", CAP), (f"GPT-2 time (to {gpt2})", gpt2)):
            sizes = look_sizes(FIRST, cap, PROMPTS, growth=growth)
            policies[f"x{growth}, {where}"] = session_policy(RATE, DECISIONS, sizes, 0.01, 0)
    policies["before (x2, Bonferroni)"] = DecisionPolicy(
        share / len(doubling), 0.01, 0, RATE, DECISIONS, doubling
    )
    return policies


def bootstrap_paired_interval(
    baseline: np.ndarray, candidate: np.ndarray, policy: DecisionPolicy
) -> Interval:
    """The plan before's interval: a percentile bootstrap of the median log-ratio at the
    policy's tail (as judge/stats.py had it)."""
    from scipy import stats

    log_ratios = np.log(candidate) - np.log(baseline)
    result = stats.bootstrap(
        (log_ratios,),
        np.median,
        n_resamples=policy.resamples,
        confidence_level=policy.confidence,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(policy.seed),
    )
    low, high = result.confidence_interval
    estimate = float(np.exp(np.median(log_ratios)))
    return Interval(estimate, math.exp(low), math.exp(high), policy.confidence, log_ratios.size)


def interval_of(plan_name: str) -> Callable[..., Interval]:
    return bootstrap_paired_interval if plan_name.startswith("before") else paired_ratio_interval


def runs_per_verdict(
    policy: DecisionPolicy,
    true_ratio: float,
    noise: Noise,
    rng: np.random.Generator,
    interval_for: Callable[..., Interval] = paired_ratio_interval,
) -> tuple[int, Decision]:
    size = policy.sizes[-1]
    log_ratios = math.log(true_ratio) + noise(rng, size)
    baseline = np.exp(rng.normal(0.0, 0.02, size)) * 1000.0
    candidate = baseline * np.exp(log_ratios)
    decision = Decision.INCONCLUSIVE
    for runs in policy.sizes:
        interval = interval_for(baseline[:runs], candidate[:runs], policy)
        decision = decide(interval, BUDGET, policy.noise_floor)
        if decision is not Decision.INCONCLUSIVE:
            return runs, decision
    return policy.sizes[-1], decision


def oracle(true_ratio: float, f0: float, tail: float, power: float) -> int:
    """Fixed-size runs to reach the verdict with `power`, at one-sided error `tail`."""
    distance = abs(math.log(true_ratio) - math.log(BUDGET))
    spread = 1 / (2 * f0)  # the median's sd times sqrt(n)
    return math.ceil(((norm.isf(tail) + norm.ppf(power)) * spread / distance) ** 2)


def exact_oracle(
    true_ratio: float, noise: Noise, tail: float, power: float, rng: np.random.Generator
) -> int:
    """The same yardstick for the test the plugin takes: the fewest pairs whose exact
    sign-test interval (order statistics at the one-sided `tail`, one look) reaches the
    verdict with `power`, by simulation. Its ranks are whole numbers, so it holds its tail
    with room to spare and needs a few more pairs than the normal approximation above."""
    most, draws = 600, 2000
    log_ratios = math.log(true_ratio) + noise(rng, draws * most).reshape(draws, most)
    budget = math.log(BUDGET)
    for pairs in range(3, most):
        ordered = np.sort(log_ratios[:, :pairs], axis=1)
        low, high = order_statistic_ranks(pairs, 50.0, tail)
        if low is None or high is None:
            continue
        decided = (
            ordered[:, high - 1] < budget if true_ratio < BUDGET else ordered[:, low - 1] > budget
        )
        if decided.mean() >= power:
            return pairs
    return most


def part_run_counts(trials: int, growths: tuple[float, ...]) -> None:
    print("\n## 1. Runs per verdict, latency_ratio=1.10 (pairs per model)\n")
    print(
        "| noise (log-ratio) | true ratio | plan | median | p90 | oracle 90% | oracle 50% "
        "| exact oracle 90% | median / oracle 90% | p90 / oracle 90% | p90 / exact oracle "
        "| pass | fail | inconclusive |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    share = RATE / DECISIONS
    for name, make, sd in (("normal", normal, 0.15), ("t(3)", student3, 0.15)):
        f0 = density_at_zero("normal" if name == "normal" else "t3", sd)
        for true_ratio in (1.0, 1.05, 1.2, 2.0):
            o90, o50 = oracle(true_ratio, f0, share, 0.9), oracle(true_ratio, f0, share, 0.5)
            exact = exact_oracle(true_ratio, make(sd), share, 0.9, np.random.default_rng(5))
            for plan_name, policy in plans(growths).items():
                rng = np.random.default_rng(17)
                interval_for = interval_of(plan_name)
                results = [
                    runs_per_verdict(policy, true_ratio, make(sd), rng, interval_for)
                    for _ in range(trials)
                ]
                runs = np.array([r for r, _ in results])
                counts = {d: sum(1 for _, x in results if x is d) for d in Decision}
                median, p90 = float(np.median(runs)), float(np.percentile(runs, 90))
                print(
                    f"| {name}, sd {sd} | {true_ratio} | {plan_name} | {median:.0f} | {p90:.0f} "
                    f"| {o90} | {o50} | {exact} | {median / o90:.2f} | {p90 / o90:.2f} "
                    f"| {p90 / exact:.2f} | "
                    + " | ".join(f"{counts[d] / trials:.1%}" for d in Decision)
                    + " |"
                )


def part_false_failures(trials: int, share: float, growths: tuple[float, ...]) -> None:
    """At a larger share than the session's (10%) so that a few hundred trials show whether
    the rate over every look holds (the bootstrap at a 0.1% tail takes 10,000 resamples)."""
    print(f"\n## 2. False failures over every look (share per decision: {share:.0%})\n")
    print("| noise | true ratio | plan | looks | failed | decided at the first look |")
    print("|---|---|---|---|---|---|")
    doubling = (15, 30, 60, 120, 240, 320)
    policies = {
        f"x{growth}, fast model": session_policy(
            share, 1, look_sizes(FIRST, CAP, PROMPTS, growth=growth), 0.01, 0
        )
        for growth in growths
    }
    policies |= {
        "before (x2, Bonferroni)": DecisionPolicy(
            share / len(doubling), 0.01, 0, share, 1, doubling
        ),
    }
    for name, make in (("normal", normal), ("t(3)", student3)):
        for true_ratio in (BUDGET, 1.0):
            for plan_name, policy in policies.items():
                rng = np.random.default_rng(29)
                interval_for = interval_of(plan_name)
                results = [
                    runs_per_verdict(policy, true_ratio, make(0.15), rng, interval_for)
                    for _ in range(trials)
                ]
                failed = sum(d is Decision.FAIL for _, d in results) / trials
                first = sum(r == FIRST and d is not Decision.INCONCLUSIVE for r, d in results)
                print(
                    f"| {name}, sd 0.15 | {true_ratio} | {plan_name} | {len(policy.sizes)} "
                    f"| {failed:.1%} | {first / trials:.1%} |"
                )


def latency_draws() -> dict[str, Callable[[np.random.Generator, int], np.ndarray]]:
    def modes(share: float, slow: float) -> Callable[[np.random.Generator, int], np.ndarray]:
        return lambda rng, n: np.where(rng.random(n) < share, slow, 1.0) * rng.lognormal(0, 0.03, n)

    return {
        "log-normal, sigma 0.05": lambda rng, n: rng.lognormal(0, 0.05, n),
        "log-normal, sigma 0.3": lambda rng, n: rng.lognormal(0, 0.3, n),
        "Pareto tail, alpha 1.5": lambda rng, n: 1 + 0.05 * rng.pareto(1.5, n),
        "Pareto tail, alpha 3": lambda rng, n: 1 + 0.05 * rng.pareto(3.0, n),
        "bimodal, 3% at 3x": modes(0.03, 3.0),
        "bimodal, 8% at 3x": modes(0.08, 3.0),
    }


def sla_decision(policy: DecisionPolicy, values: np.ndarray, sla: float) -> tuple[int, Decision]:
    for runs in policy.sizes:
        interval = percentile_interval(values[:runs], 95.0, policy)
        decision = decide(interval, sla, policy.noise_floor)
        if decision is not Decision.INCONCLUSIVE:
            return runs, decision
    return policy.sizes[-1], Decision.INCONCLUSIVE


def part_sla(trials: int, growth: float) -> None:
    needed = runs_to_pass(95.0, RATE)
    sizes = look_sizes(FIRST, CAP, PROMPTS, also=(needed,), growth=growth)
    policy = session_policy(RATE, DECISIONS, sizes, 0.0, 0)
    print(f"\n## 3. A p95 SLA (looks {sizes[:8]}...; a pass needs {needed} runs)\n")
    print(
        "| latencies | SLA at true p95: passed (wrong) | failed | 1.5x margin: passed "
        "| runs (median) | 1.5x miss: failed | runs (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, draw in latency_draws().items():
        rng = np.random.default_rng(41)
        truth = float(np.percentile(draw(rng, 2_000_000), 95))
        row = [name]
        at, over = [], []
        for _ in range(trials):
            at.append(sla_decision(policy, draw(rng, CAP), truth)[1])
        row.append(f"{sum(d is Decision.PASS for d in at) / trials:.2%}")
        row.append(f"{sum(d is Decision.FAIL for d in at) / trials:.2%}")
        margin = [sla_decision(policy, draw(rng, CAP), 1.5 * truth) for _ in range(trials)]
        row.append(f"{sum(d is Decision.PASS for _, d in margin) / trials:.1%}")
        row.append(f"{np.median([r for r, _ in margin]):.0f}")
        over = [sla_decision(policy, draw(rng, CAP), truth / 1.5) for _ in range(trials)]
        row.append(f"{sum(d is Decision.FAIL for _, d in over) / trials:.1%}")
        row.append(f"{np.median([r for r, _ in over]):.0f}")
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--sla-trials", type=int, default=2000)
    parser.add_argument("--parts", default="123")
    parser.add_argument(
        "--growth", type=float, nargs="+", default=[GROWTH], help="runs a look over the last"
    )
    parser.add_argument("--share", type=float, default=0.10, help="of part 2")
    args = parser.parse_args()
    if "1" in args.parts:
        part_run_counts(args.trials, tuple(args.growth))
    if "2" in args.parts:
        part_false_failures(args.trials * 2, args.share, tuple(args.growth))
    if "3" in args.parts:
        part_sla(args.sla_trials, args.growth[0])


if __name__ == "__main__":
    main()
