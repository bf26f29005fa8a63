"""samples_per_question=k: each question answered k times with sampling, each answer a
request of its own with its own reproducible seed, all scored and kept under the question's
id; accuracy over every answer; answers paired with the other model's as clusters, live and
against a snapshot; and every bad value an error."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.backends.memory import PeakMemoryTracker
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.judge.answers import pair_answers
from pytest_llmperf.judge.verdicts import Outcome
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.measure.protocol import Protocol, measure
from pytest_llmperf.measure.workload import Workload, samples_per_question_from
from pytest_llmperf.metrics import METRICS
from pytest_llmperf.results import GenerationResult, PromptSample, Run
from pytest_llmperf.session.session import CANDIDATE
from pytest_llmperf.session.snapshot_baseline import snapshot_call
from pytest_llmperf.snapshots.store import Snapshot, SnapshotStore
from tests.unit.test_session import NoMemory, session_with

SAMPLING = {"max_new_tokens": 8, "do_sample": True, "temperature": 0.7}
QUESTIONS = ("Q: 2+2? A:", "Q: 3+3? A:")


class Dice(Backend):
    """Answers "right" or "wrong" by its seed (the same seed, the same answer), logging every
    (prompt, seed, settings) it is asked for."""

    def __init__(self, name: str = "dice", odds: int = 2) -> None:
        self.name, self.odds = name, odds
        self.asked: list[tuple[str, int, dict[str, Any]]] = []

    identity = property(lambda self: {"name": self.name})
    device = property(lambda self: "cpu")
    weights_mb = property(lambda self: 1.0)

    def input_token_counts(self, prompts: Sequence[Any], max_new_tokens: int) -> list[int]:
        return [3 for _ in prompts]

    def complete(self, prompt: Any, generation: Mapping[str, Any], seed: int) -> Completion:
        self.asked.append((str(prompt), seed, dict(generation)))
        text = "wrong" if seed % self.odds else "right"
        return Completion(text, 3, Run(10.0 + seed % 7, 2.0, 4, False))

    def memory_tracker(self) -> PeakMemoryTracker:
        return NoMemory()


def sampled(k: int, generation: Mapping[str, Any] = SAMPLING) -> Workload:
    return Workload.from_call(list(QUESTIONS), generation, ["right", "right"]).sampled(k)


# --- the value and the workload -----------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3", [3]])
def test_a_bad_samples_per_question_is_an_error(value: Any) -> None:
    with pytest.raises(
        GenerationError, match=rf"samples_per_question={re.escape(repr(value))} is not a whole"
    ):
        samples_per_question_from(value)


def test_samples_per_question_defaults_to_one() -> None:
    assert samples_per_question_from(None) == 1 and samples_per_question_from(4) == 4
    one = Workload.from_call(list(QUESTIONS), {"max_new_tokens": 8}, ["a", "b"])
    assert one.sampled(1) is one  # greedy is fine for one answer a question


def test_each_question_stands_k_times_in_a_row_with_its_id_answer_and_choices() -> None:
    three = Workload.from_call(list(QUESTIONS), SAMPLING, ["4", "6"]).sampled(3)
    assert three.prompts == (QUESTIONS[0],) * 3 + (QUESTIONS[1],) * 3
    assert three.ids == ("0", "0", "0", "1", "1", "1")
    assert three.expected == ("4", "4", "4", "6", "6", "6")
    assert three.samples_per_question == 3 and three.choices is None
    with_choices = Workload.from_call(
        list(QUESTIONS), SAMPLING, ["A", "B"], None, None, [["4", "5"], ["5", "6"]]
    ).sampled(2)
    assert with_choices.choices == (("4", "5"), ("4", "5"), ("5", "6"), ("5", "6"))


def test_several_samples_with_greedy_decoding_are_an_error() -> None:
    with pytest.raises(
        GenerationError,
        match=r"samples_per_question=3 with greedy decoding would give the same answer 3 "
        r"times: sample with do_sample=True",
    ):
        sampled(3, {"max_new_tokens": 8, "temperature": 0.7})  # a temperature alone is greedy


# --- measuring ----------------------------------------------------------------------------


def test_each_sample_has_its_own_reproducible_seed_and_is_scored() -> None:
    dice = Dice()
    result = measure(dice, sampled(4), Protocol(repeats=1, warmup=0, seed=3))
    seeds = [seed for _, seed, _ in dice.asked]
    assert len(seeds) == len(set(seeds)) == 8  # two questions, four samples each
    again = Dice()
    measure(again, sampled(4), Protocol(repeats=1, warmup=0, seed=3))
    assert [seed for _, seed, _ in again.asked] == seeds
    assert [sample.question_id for sample in result.samples] == ["0"] * 4 + ["1"] * 4
    scores = [sample.score for sample in result.samples]
    assert scores == [1.0 if seed % 2 == 0 else 0.0 for seed in seeds]
    assert result.accuracy == pytest.approx(sum(scores) / 8)  # the mean over every answer


def test_samples_are_not_timing_repeats_each_is_measured_repeats_times() -> None:
    dice = Dice()
    result = measure(dice, sampled(3), Protocol(repeats=2, warmup=0))
    assert len(result.samples) == 6 and len(result.runs) == 12
    # A sample's answer is its last run's.
    last = {index: seed for index, (_, seed, _) in enumerate(dice.asked[6:])}
    assert [s.text for s in result.samples] == [
        "wrong" if last[i] % 2 else "right" for i in range(6)
    ]


def test_one_calls_repeated_ids_stay_as_they_are_and_two_calls_ids_are_told_apart() -> None:
    run = (Run(1.0, None, 1, False),)

    def call(*ids: str) -> GenerationResult:
        samples = tuple(PromptSample(n, 1, "a", run, question_id=i) for n, i in enumerate(ids))
        return GenerationResult(samples, None)

    one = GenerationResult.combine([call("q1", "q1", "q2", "q2")])
    assert [s.question_id for s in one.samples] == ["q1", "q1", "q2", "q2"]
    two = GenerationResult.combine([call("0", "0"), call("0", "0")])
    assert [s.question_id for s in two.samples] == ["1:0", "1:0", "2:0", "2:0"]


# --- judging: clusters, live and against a snapshot ---------------------------------------


def judged_samples(session: Any, k: int, **limits: Any) -> Any:
    budget = parse_budget((), limits)
    session.count_decisions([budget])
    session.generate(
        "t::x",
        CANDIDATE,
        list(QUESTIONS),
        ["right", "right"],
        {"samples_per_question": k, "do_sample": True, "max_new_tokens": 8},
        pair_with_baseline=True,
    )
    return session.judge("t::x", budget)


def test_live_answers_pair_as_clusters_with_the_cluster_bootstrap() -> None:
    base, cand = Dice("base", odds=2), Dice("cand", odds=3)
    test = judged_samples(session_with(base, cand), 5, accuracy_drop=0.9, min_accuracy=0.01)
    drop, floor = test.verdicts
    assert drop.quality.method == "cluster bootstrap" and drop.quality.questions == 2
    assert drop.outcome is Outcome.PASS
    assert floor.quality.questions == 2  # min_accuracy over questions, not answers
    assert "samples_per_question" not in base.asked[0][2]  # not a generation setting
    assert len(test.candidate.samples) == len(test.baseline.samples) == 10
    assert [b for _, b, _ in base.asked] == [c for _, c, _ in cand.asked]  # the same seeds


def test_a_snapshot_keeps_every_sample_and_pairs_them_as_clusters(tmp_path: Path) -> None:
    workload = sampled(3)
    recorded = measure(Dice("base"), workload, Protocol(repeats=1, warmup=0))
    call = snapshot_call(workload, recorded)
    assert call.generation["samples_per_question"] == 3 and call.prompt_count == 6
    store = SnapshotStore(tmp_path)
    snapshot = Snapshot("t::x", {"name": "base"}, {}, {}, (call,))
    store.save(snapshot)
    loaded = store.load("t::x")
    assert loaded is not None
    baseline = loaded.result(recorded.pricing, 95.0)
    assert [(s.question_id, s.score) for s in baseline.samples] == [
        (s.question_id, s.score) for s in recorded.samples
    ]
    assert baseline.scorers == ("contains",)
    today = measure(Dice("cand", odds=3), workload, Protocol(repeats=1, warmup=0))
    (score,) = [metric.per_question for metric in METRICS if metric.per_question is not None]
    pairing = pair_answers(baseline, today, score)
    assert [len(q.baseline) for q in pairing.questions] == [3, 3]
    assert [len(q.candidate) for q in pairing.questions] == [3, 3]


def test_the_snapshot_is_another_workload_with_another_k() -> None:
    two, three = sampled(2), sampled(3)
    result = GenerationResult((), None)
    assert not snapshot_call(two, result).same_workload(snapshot_call(three, result))
