"""Quality verdicts on simulated answers: false failures and detection of accuracy_drop.

Each trial draws, for every question, whether the baseline and the candidate answered it
right (the four kinds of question in the proportions a scenario gives: right on both,
right->wrong, wrong->right, wrong on both), builds the two results and judges
accuracy_drop through the plugin's own verdicts (judge/verdicts.py), once paired (the
default) and once with accuracy_test = "exact" (the raw comparison). The session has one
decision at the default 5% false-failure rate, as a test with one quality limit does.

    .venv/bin/python benchmarks/quality.py --trials 1000 --questions 400
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pytest_llmperf.judge.stats import session_policy
from pytest_llmperf.judge.verdicts import Comparison, judge
from pytest_llmperf.limits import parse_limits
from pytest_llmperf.outcomes import Outcome
from pytest_llmperf.results import GenerationResult, PromptSample, Run

RUN = (Run(100.0, 10.0, 5, False),)
BASELINE_ACCURACY = 0.80
# name, share of questions that went right->wrong, and wrong->right
SCENARIOS = (
    ("unchanged, 5% flip each way", 0.05, 0.05),
    ("unchanged, 2% flip each way", 0.02, 0.02),
    ("1-point drop (5.5% / 4.5% flips)", 0.055, 0.045),
    ("2-point drop: at the margin (6% / 4%)", 0.06, 0.04),
    ("5-point drop, one way (5% / 0%)", 0.05, 0.0),
    ("5-point drop over flips (7.5% / 2.5%)", 0.075, 0.025),
)


def answers(flags: np.ndarray) -> GenerationResult:
    samples = tuple(
        PromptSample(i, 5, "a", RUN, bool(flag), f"Q{i}", "x") for i, flag in enumerate(flags)
    )
    return GenerationResult(samples, 100.0)


def trial(rng: np.random.Generator, questions: int, to_wrong: float, to_right: float):
    kind = rng.choice(4, size=questions, p=_shares(to_wrong, to_right))
    base = np.isin(kind, (0, 1))  # right on both, right->wrong
    cand = np.isin(kind, (0, 2))  # right on both, wrong->right
    return answers(cand), answers(base)


def _shares(to_wrong: float, to_right: float) -> list[float]:
    both_right = BASELINE_ACCURACY - to_wrong
    return [both_right, to_wrong, to_right, 1 - both_right - to_wrong - to_right]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    policy = session_policy(0.05, decisions=1, sizes=(), noise_floor=0.01, seed=0)
    limits = parse_limits((), {"accuracy_drop": args.margin})
    rng = np.random.default_rng(args.seed)
    print(
        f"accuracy_drop={args.margin:g} on {args.questions} questions, baseline accuracy "
        f"{BASELINE_ACCURACY:.0%}, {args.trials} trials per scenario; one decision at a 5% "
        "session false-failure rate (a 90% two-sided interval: 5% in the tail that fails)"
    )
    print()
    print("| scenario | true drop | paired: fail | pass | inconclusive | exact: fail |")
    print("|---|---|---|---|---|---|")
    started = time.perf_counter()
    for name, to_wrong, to_right in SCENARIOS:
        counts = dict.fromkeys(Outcome, 0)
        exact_failed = 0
        for _ in range(args.trials):
            candidate, baseline = trial(rng, args.questions, to_wrong, to_right)
            paired = Comparison(candidate, baseline, "simulated", policy=policy)
            counts[judge(limits, paired)[0].outcome] += 1
            exact = Comparison(candidate, baseline, "simulated", accuracy_test="exact")
            exact_failed += judge(limits, exact)[0].failed
        share = {outcome: count / args.trials for outcome, count in counts.items()}
        print(
            f"| {name} | {to_wrong - to_right:.3f} | {share[Outcome.FAIL]:.1%} | "
            f"{share[Outcome.PASS]:.1%} | {share[Outcome.INCONCLUSIVE]:.1%} | "
            f"{exact_failed / args.trials:.1%} |"
        )
    print()
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
