"""Quality verdicts: the intervals over questions (judge/quality.py), the pairing of answers
(judge/answers.py), and the verdicts and words built on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from pytest_llmperf.judge.answers import changed_answers, pair_answers
from pytest_llmperf.judge.quality import (
    accuracy_interval,
    clopper_pearson,
    cluster_bootstrap,
    discordant,
    paired_bootstrap,
    paired_score,
    questions_to_settle,
    unpaired_difference,
)
from pytest_llmperf.judge.stats import session_policy
from pytest_llmperf.judge.verdicts import Comparison, about, counts_as_decision, judge
from pytest_llmperf.limits import LIMIT_SPECS, Kind, parse_limits
from pytest_llmperf.metrics import answer_score
from pytest_llmperf.outcomes import Outcome
from pytest_llmperf.results import GenerationResult, PromptSample, Run

TAIL = 0.025
RUN = (Run(100.0, 10.0, 5, False),)


def outcomes(
    rng: np.random.Generator, n: int, accuracy: float, to_wrong: float, to_right: float
) -> tuple[np.ndarray, np.ndarray]:
    """Right/wrong answers of a baseline and of a candidate that flips each right answer to
    wrong with probability `to_wrong`, each wrong one to right with `to_right`."""
    base = (rng.random(n) < accuracy).astype(float)
    flip = rng.random(n)
    cand = np.where(base == 1, flip >= to_wrong, flip < to_right).astype(float)
    return base, cand


# --- the intervals ---------------------------------------------------------------------------


def test_paired_score_counts_the_changed_answers_and_covers_the_example() -> None:
    base = np.r_[np.ones(436), np.zeros(64)]
    cand = base.copy()
    cand[:14], cand[-9:] = 0, 1
    assert discordant(base, cand) == (14, 9)
    bounds = paired_score(base, cand, TAIL)
    assert bounds.estimate == pytest.approx(-0.010)
    assert bounds.low < -0.02 < bounds.estimate < 0 < bounds.high < 0.02
    assert "Tango" in bounds.method


@pytest.mark.parametrize(
    "to_wrong, to_right", [(0.05, 0.05), (0.10, 0.02), (0.03, 0.0), (0.02, 0.005)]
)
def test_paired_score_covers_the_true_difference(to_wrong: float, to_right: float) -> None:
    """Over many synthetic sets of 400 questions, the 95% interval holds the true
    difference about 95% of the time (fixed seed; 92.5% where every change runs one way,
    where the score interval is a little short)."""
    rng = np.random.default_rng(7)
    accuracy = 0.8
    truth = (1 - accuracy) * to_right - accuracy * to_wrong
    trials = 600
    covered = 0
    for _ in range(trials):
        bounds = paired_score(*outcomes(rng, 400, accuracy, to_wrong, to_right), TAIL)
        covered += bounds.low <= truth <= bounds.high
    assert covered / trials >= 0.92


def test_no_changed_answer_gives_an_interval_as_wide_as_the_questions_allow() -> None:
    small = paired_score(np.ones(6), np.ones(6), TAIL)
    assert small.estimate == 0
    # 6 unchanged answers cannot rule out that 39% of such questions would flip one way.
    assert small.high == pytest.approx(0.390, abs=1e-3)
    assert small.low == pytest.approx(-small.high)
    large = paired_score(np.ones(500), np.ones(500), TAIL)
    assert large.high < 0.008  # z**2 / (n + z**2)


def test_all_answers_changed_one_way() -> None:
    bounds = paired_score(np.ones(10), np.zeros(10), TAIL)
    assert bounds.estimate == -1.0 and bounds.low == -1.0
    assert -1.0 < bounds.high < 0  # some of such questions might not have flipped
    back = paired_score(np.zeros(10), np.ones(10), TAIL)
    assert back.estimate == 1.0 and back.high == 1.0 and 0 < back.low < 1.0


def test_one_question() -> None:
    bounds = paired_score([1.0], [0.0], TAIL)
    assert bounds.estimate == -1.0
    assert bounds.low == -1.0 and bounds.high > 0.5  # one answer tells next to nothing


def test_paired_score_refuses_scores_and_uneven_lengths() -> None:
    with pytest.raises(ValueError, match="right/wrong"):
        paired_score([0.5], [1.0], TAIL)
    with pytest.raises(ValueError, match="equal lengths"):
        paired_score([1.0, 0.0], [1.0], TAIL)


def test_clopper_pearson_matches_scipy_binomtest_and_its_edges() -> None:
    from scipy.stats import binomtest

    expected = binomtest(7, 20).proportion_ci(confidence_level=1 - 2 * TAIL, method="exact")
    assert clopper_pearson(7, 20, TAIL) == pytest.approx((expected.low, expected.high))
    assert clopper_pearson(0, 20, TAIL)[0] == 0.0
    assert clopper_pearson(20, 20, TAIL)[1] == 1.0
    every = accuracy_interval(32, 32, TAIL)
    assert every.estimate == 1.0 and every.high == 1.0 and 0.85 < every.low < 0.9


def test_paired_bootstrap_is_seeded_and_covers_graded_scores() -> None:
    rng = np.random.default_rng(3)
    base = rng.random(200)
    cand = np.clip(base - 0.05 + rng.normal(0, 0.1, 200), 0, 1)
    first = paired_bootstrap(base, cand, TAIL, seed=0)
    assert first == paired_bootstrap(base, cand, TAIL, seed=0)
    assert first.low < first.estimate < first.high < 0
    same = paired_bootstrap(base, base, TAIL, seed=0)
    assert (same.low, same.estimate, same.high) == (0.0, 0.0, 0.0)


def test_cluster_bootstrap_is_wider_than_counting_samples_as_questions() -> None:
    """Three samples of each question that mostly agree: the questions, not the samples,
    are the evidence."""
    rng = np.random.default_rng(5)
    base_q = rng.random(60) < 0.7
    cand_q = np.where(rng.random(60) < 0.15, ~base_q, base_q)
    base = [np.full(3, float(q)) for q in base_q]
    cand = [np.full(3, float(q)) for q in cand_q]
    clustered = cluster_bootstrap(base, cand, TAIL, seed=0)
    flat = paired_bootstrap(np.concatenate(base), np.concatenate(cand), TAIL, seed=0)
    assert clustered.estimate == pytest.approx(flat.estimate)
    assert clustered.high - clustered.low > 1.4 * (flat.high - flat.low)


def test_unpaired_difference_is_wider_than_the_paired_one() -> None:
    rng = np.random.default_rng(11)
    base, cand = outcomes(rng, 400, 0.8, 0.05, 0.2)
    paired = paired_score(base, cand, TAIL)
    unpaired = unpaired_difference(base.sum(), 400, cand.sum(), 400, TAIL)
    assert unpaired.estimate == pytest.approx(paired.estimate)
    assert unpaired.high - unpaired.low > paired.high - paired.low


def test_questions_to_settle_scales_with_the_square_of_the_gap() -> None:
    # Half-width 0.02 on 500 questions, estimate 0.01 below a budget of 0.02.
    assert questions_to_settle(0.01, -0.006, 0.03, 0.02, 500) == 2000
    assert questions_to_settle(0.02, 0.0, 0.04, 0.02, 500) is None  # at the budget
    assert questions_to_settle(0.0, -0.01, 0.01, 0.05, 500) is None  # already clear
    assert about(1597) == "about 1,600" and about(42) == "about 42"


# --- pairing answers -------------------------------------------------------------------------


def sample(index: int, correct: bool | None, prompt: str = "", **fields) -> PromptSample:
    return PromptSample(index, 5, f"answer {index}", RUN, correct, prompt, "x", **fields)


def result(samples: Sequence[PromptSample]) -> GenerationResult:
    return GenerationResult(tuple(samples), 100.0)


def test_answers_pair_by_id_whatever_the_order() -> None:
    base = result([sample(0, True, question_id="a"), sample(1, False, question_id="b")])
    cand = result([sample(0, True, question_id="b"), sample(1, False, question_id="a")])
    pairing = pair_answers(base, cand, answer_score)
    assert [q.key for q in pairing.questions] == ["b", "a"]
    changed = changed_answers(pairing, answer_score)
    assert [(c["question_id"], c["change"]) for c in changed] == [
        ("b", "wrong->right"),
        ("a", "right->wrong"),
    ]


def test_answers_pair_by_position_when_prompts_agree_or_are_unknown() -> None:
    base = result([sample(0, True, ""), sample(1, True, "")])  # a snapshot: no prompts
    cand = result([sample(0, True, "Q1"), sample(1, False, "Q2")])
    pairing = pair_answers(base, cand, answer_score)
    assert pairing.paired and len(pairing.questions) == 2
    (change,) = changed_answers(pairing, answer_score)
    assert change["prompt"] == "Q2" and change["change"] == "right->wrong"


def test_answers_do_not_pair_across_other_prompts_or_counts() -> None:
    cand = result([sample(0, True, "Q1"), sample(1, False, "Q2")])
    other = result([sample(0, True, "Q1"), sample(1, True, "Q9")])
    assert "prompt 2 differs" in pair_answers(other, cand, answer_score).why_unpaired
    shorter = result([sample(0, True, "Q1")])
    assert not pair_answers(shorter, cand, answer_score).paired


# --- verdicts --------------------------------------------------------------------------------


def answers(flags: Sequence[bool]) -> GenerationResult:
    return result([sample(i, flag, f"Q{i}") for i, flag in enumerate(flags)])


# One decision with a 2.5% chance of failing a good candidate: 95% intervals.
POLICY = session_policy(0.025, decisions=1, sizes=(), noise_floor=0.01, seed=0)


def verdict(candidate, baseline, policy=POLICY, **limit):
    comparison = Comparison(
        candidate=candidate, baseline=baseline, baseline_source="test", policy=policy
    )
    (only,) = judge(parse_limits((), limit), comparison)
    return only


def flipped(n: int, right: int, to_wrong: int, to_right: int) -> tuple[list[bool], list[bool]]:
    """Baseline right on the first `right` of n; the candidate flips the first `to_wrong`
    of those, and the first `to_right` of the wrong ones."""
    base = [i < right for i in range(n)]
    cand = list(base)
    for i in range(to_wrong):
        cand[i] = False
    for i in range(right, right + to_right):
        cand[i] = True
    return base, cand


def test_accuracy_drop_inconclusive_explains_itself() -> None:
    base, cand = flipped(500, 436, 14, 9)
    found = verdict(answers(cand), answers(base), accuracy_drop=0.02)
    assert found.outcome is Outcome.INCONCLUSIVE
    assert found.quality is not None
    assert (found.quality.right_to_wrong, found.quality.wrong_to_right) == (14, 9)
    assert found.observed == pytest.approx(0.01)
    assert found.interval is not None and found.interval.low < 0 < 0.02 < found.interval.high
    assert found.note.startswith(
        "accuracy 0.872 -> 0.862 on 500 questions: 14 right->wrong, 9 wrong->right; "
        "drop 0.010, 95% interval [-0.0095, 0.0307] (Tango's score interval): "
        "inconclusive against accuracy_drop=0.02 (about 2,100 questions would settle a drop "
        "this size)"
    )
    assert "more runs of the same questions would not" in found.note


def test_accuracy_drop_passes_a_flipping_copy_and_fails_a_real_drop() -> None:
    base, cand = flipped(1000, 800, 10, 10)
    assert verdict(answers(cand), answers(base), accuracy_drop=0.02).outcome is Outcome.PASS
    base, cand = flipped(400, 320, 40, 0)
    failed = verdict(answers(cand), answers(base), accuracy_drop=0.02)
    assert failed.outcome is Outcome.FAIL and failed.remedy
    assert failed.decided_by == "the interval"


def test_one_flipped_answer_in_32_does_not_fail_a_zero_drop() -> None:
    """The seed's case: today's raw comparison fails it, the paired interval cannot tell."""
    base, cand = flipped(32, 28, 1, 0)
    paired = verdict(answers(cand), answers(base), accuracy_drop=0.0)
    assert paired.outcome is Outcome.INCONCLUSIVE
    exact = Comparison(answers(cand), answers(base), "test", accuracy_test="exact")
    (raw,) = judge(parse_limits((), {"accuracy_drop": 0.0}), exact)
    assert raw.outcome is Outcome.FAIL


def test_accuracy_gain_is_a_floor_on_the_gain() -> None:
    base, cand = flipped(400, 200, 0, 60)  # +15 points
    assert verdict(answers(cand), answers(base), accuracy_gain=0.05).outcome is Outcome.PASS
    assert verdict(answers(base), answers(cand), accuracy_gain=0.0).outcome is Outcome.FAIL
    base, cand = flipped(400, 200, 10, 14)
    open_one = verdict(answers(cand), answers(base), accuracy_gain=0.02)
    assert open_one.outcome is Outcome.INCONCLUSIVE
    assert "gain 0.010" in open_one.note and "a gain this size" in open_one.note
    assert LIMIT_SPECS["accuracy_gain"].kind is Kind.GAIN


def test_min_accuracy_on_the_clopper_pearson_interval() -> None:
    flags = [True] * 90 + [False] * 10
    assert verdict(answers(flags), None, min_accuracy=0.8).outcome is Outcome.PASS
    assert verdict(answers(flags), None, min_accuracy=0.97).outcome is Outcome.FAIL
    found = verdict(answers(flags), None, min_accuracy=0.88)
    assert found.outcome is Outcome.INCONCLUSIVE
    assert "Clopper-Pearson" in found.note and found.sampling == "answers"


def test_answers_that_do_not_pair_fall_back_to_an_unpaired_interval_and_say_so() -> None:
    base = result([sample(i, i % 5 != 0, f"Q{i}") for i in range(200)])
    cand = result([sample(i, i % 5 != 0, f"R{i}") for i in range(200)])
    found = verdict(cand, base, accuracy_drop=0.2)
    assert found.outcome is Outcome.PASS
    assert found.quality is not None and not found.quality.paired
    assert "not paired by question (prompt 1 differs" in found.note
    assert "Newcombe" in found.note and found.sampling == "unpaired questions"


def test_graded_scores_use_the_paired_bootstrap_and_several_samples_the_cluster_one() -> None:
    # `correct` beside the score only because this branch's accuracy still counts `correct`
    # (the eval-set branch makes it the mean score); the interval reads the scores.
    graded = [
        sample(i, s >= 0.5, f"Q{i}", score=s) for i, s in enumerate(np.linspace(0.2, 0.9, 100))
    ]
    lower = [replace(s, score=s.score - 0.1) for s in graded]
    found = verdict(result(lower), result(graded), accuracy_drop=0.2)
    assert found.outcome is Outcome.PASS and "paired bootstrap" in found.note
    assert "100 scored lower, 0 higher" in found.note
    twice = [replace(s, question_id=f"q{i // 2}") for i, s in enumerate(graded)]
    twice_lower = [replace(s, score=s.score - 0.1) for s in twice]
    clustered = verdict(result(twice_lower), result(twice), accuracy_drop=0.2)
    assert "cluster bootstrap" in clustered.note and "on 50 questions" in clustered.note


def test_quality_decisions_take_a_share_of_the_session_rate_once() -> None:
    policy = session_policy(0.05, decisions=4, sizes=(15, 21, 27, 36, 45), noise_floor=0.01, seed=0)
    base, cand = flipped(400, 300, 10, 10)
    found = verdict(answers(cand), answers(base), policy, accuracy_drop=0.05)
    assert found.policy is not None and found.policy.looks == 1
    assert found.interval is not None
    assert found.interval.confidence == pytest.approx(1 - 2 * 0.05 / 4)
    assert "97.5% interval" in found.note
    assert counts_as_decision(LIMIT_SPECS["accuracy_drop"], "paired")
    assert not counts_as_decision(LIMIT_SPECS["accuracy_drop"], "exact")
    assert not counts_as_decision(LIMIT_SPECS["tokens_ratio"], "paired")
    assert counts_as_decision(LIMIT_SPECS["latency_ratio"], "exact")


def test_an_open_quality_verdict_takes_no_more_runs() -> None:
    """More runs of the same questions add nothing: the loop that runs until decided leaves
    it as it is."""
    from pytest_llmperf.session.until_decided import _more_runs_may_decide

    base, cand = flipped(32, 28, 1, 0)
    comparison = Comparison(answers(cand), answers(base), "test", policy=POLICY)
    (open_one,) = judge(parse_limits((), {"accuracy_drop": 0.05}), comparison)
    assert open_one.outcome is Outcome.INCONCLUSIVE
    assert not _more_runs_may_decide(open_one, comparison)
