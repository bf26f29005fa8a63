"""The timing protocol, driven by a fake backend that records every call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.backends.memory import PeakMemoryTracker
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.measure.protocol import Protocol, Workload, measure, measure_paired
from pytest_llmperf.results import Pricing, Run

GENERATION = {"max_new_tokens": 8, "do_sample": False}


class FakeTracker(PeakMemoryTracker):
    """Reports the given increases in turn, one per start()/peak_increase_mb() pair."""

    def __init__(self, increases_mb: Sequence[float]) -> None:
        self.increases_mb = list(increases_mb)
        self.starts = 0
        self.reads = 0

    def start(self) -> None:
        assert self.starts == self.reads, "start() twice without a read"
        self.starts += 1

    def peak_increase_mb(self) -> float:
        assert self.starts == self.reads + 1, "peak read before start()"
        self.reads += 1
        return self.increases_mb[(self.reads - 1) % len(self.increases_mb)]


class FakeBackend(Backend):
    """Deterministic completions; every call is appended to a log shared between backends.

    The n-th call of a backend takes n milliseconds, so warm-up runs can be told apart from
    measured ones by their latency.
    """

    def __init__(
        self,
        name: str,
        log: list[tuple[str, str, int]] | None = None,
        *,
        answers: Mapping[str, str] | None = None,
        weights_mb: float = 100.0,
        memory_increases: Sequence[float] = (5.0,),
    ) -> None:
        self.name = name
        self.log: list[tuple[str, str, int]] = [] if log is None else log
        self.answers = dict(answers or {})
        self._weights_mb = weights_mb
        self.memory_increases = list(memory_increases)
        self.trackers: list[FakeTracker] = []
        self.token_count_calls: list[tuple[tuple[str, ...], int]] = []
        self.calls = 0

    @property
    def identity(self) -> dict[str, Any]:
        return {"name": self.name}

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def weights_mb(self) -> float:
        return self._weights_mb

    def input_token_counts(self, prompts: Sequence[str], max_new_tokens: int) -> list[int]:
        self.token_count_calls.append((tuple(prompts), max_new_tokens))
        return [len(prompt.split()) for prompt in prompts]

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        assert generation == GENERATION
        self.calls += 1
        self.log.append((self.name, prompt, seed))
        latency = float(self.calls)
        text = self.answers.get(prompt, f"{self.name} says {prompt}")
        return Completion(text, len(prompt.split()), Run(latency, latency / 2, 4, False))

    def place_weights_afresh(self) -> None:
        self.log.append((self.name, "placed afresh", -1))

    def memory_tracker(self) -> PeakMemoryTracker:
        tracker = FakeTracker(self.memory_increases)
        self.trackers.append(tracker)
        return tracker


PROMPTS = ("one", "two words", "three more words")


def workload(prompts: Sequence[str] = PROMPTS, expected: Sequence[str] | None = None) -> Workload:
    return Workload.from_call(list(prompts), GENERATION, expected)


# --- Workload.from_call --------------------------------------------------------------------


def test_workload_from_a_single_string() -> None:
    single = Workload.from_call("hello", GENERATION, "hi")
    assert single.prompts == ("hello",)
    assert single.expected == ("hi",)
    assert single.max_new_tokens == 8


def test_workload_from_a_list_copies_the_settings() -> None:
    generation = dict(GENERATION)
    made = Workload.from_call(["a", "b"], generation)
    generation["max_new_tokens"] = 99
    assert made.prompts == ("a", "b")
    assert made.generation == GENERATION
    assert made.expected is None


def test_workload_from_a_generator() -> None:
    assert Workload.from_call((p for p in ["a", "b"]), GENERATION).prompts == ("a", "b")


def test_empty_prompt_list_is_an_error() -> None:
    with pytest.raises(GenerationError, match="empty list of prompts"):
        Workload.from_call([], GENERATION)


@pytest.mark.parametrize(("prompts", "index"), [(["a", 3], 1), ([None], 0), ([b"x"], 0)])
def test_non_string_prompt_is_an_error(prompts: list[Any], index: int) -> None:
    with pytest.raises(GenerationError, match=f"prompt {index} is not a string or a conversation"):
        Workload.from_call(prompts, GENERATION)


@pytest.mark.parametrize(("expected", "count"), [(["x"], 1), (["x", "y", "z"], 3), ("x", 1)])
def test_expected_must_have_one_answer_per_prompt(expected: Any, count: int) -> None:
    with pytest.raises(GenerationError, match=f"expected has {count} answers for 2 prompts"):
        Workload.from_call(["a", "b"], GENERATION, expected)


# --- measure -------------------------------------------------------------------------------


def measured(log: list[tuple[str, str, int]], warmup: int) -> list[tuple[str, str, int]]:
    return log[warmup:]


def test_warmup_runs_the_first_prompt_and_is_not_recorded() -> None:
    backend = FakeBackend("base")
    result = measure(backend, workload(), Protocol(repeats=3, warmup=2, seed=7))
    assert backend.log[:2] == [("base", "one", 7), ("base", "one", 7)]
    assert len(backend.log) == 2 + 3 * len(PROMPTS)
    # the warm-up calls took 1 and 2 ms: no measured run may be one of them
    assert min(run.latency_ms for run in result.runs) == 3.0


def test_no_warmup() -> None:
    backend = FakeBackend("base")
    result = measure(backend, workload(), Protocol(repeats=2, warmup=0))
    assert len(backend.log) == 2 * len(PROMPTS)
    assert min(run.latency_ms for run in result.runs) == 1.0


def test_repeats_run_every_prompt_in_turn() -> None:
    backend = FakeBackend("base")
    result = measure(backend, workload(), Protocol(repeats=4, warmup=1))
    prompts_in_order = [prompt for _, prompt, _ in measured(backend.log, 1)]
    assert prompts_in_order == list(PROMPTS) * 4
    assert [sample.prompt_index for sample in result.samples] == [0, 1, 2]
    assert all(len(sample.runs) == 4 for sample in result.samples)
    # prompt 0's runs are calls 2, 5, 8 and 11 (call 1 was the warm-up)
    assert [run.latency_ms for run in result.samples[0].runs] == [2.0, 5.0, 8.0, 11.0]


def test_each_measured_run_gets_its_own_seed() -> None:
    backend = FakeBackend("base")
    measure(backend, workload(), Protocol(repeats=3, warmup=1, seed=1))
    seeds = [seed for _, _, seed in measured(backend.log, 1)]
    assert len(set(seeds)) == len(seeds)


def test_input_tokens_text_and_memory() -> None:
    backend = FakeBackend("base", weights_mb=200.0, memory_increases=(3.0, 9.0, 1.0))
    result = measure(backend, workload(), Protocol(repeats=3, warmup=1))
    assert backend.token_count_calls == [(PROMPTS, 8)]
    assert [sample.input_tokens for sample in result.samples] == [1, 2, 3]
    assert result.texts == [f"base says {prompt}" for prompt in PROMPTS]
    # memory is tracked around every measured run (not the warm-up), outside its timing
    (tracker,) = backend.trackers
    assert tracker.starts == tracker.reads == 3 * len(PROMPTS)
    assert [run.peak_memory_mb for run in result.samples[0].runs] == [203.0, 203.0, 203.0]
    assert [run.peak_memory_mb for run in result.samples[1].runs] == [209.0, 209.0, 209.0]
    assert result.peak_memory_mb == 200.0 + 9.0


def test_protocol_percentile_reaches_the_result_and_prices_are_not_the_protocols() -> None:
    result = measure(
        FakeBackend("base"), workload(), Protocol(repeats=1, warmup=0, latency_percentile=90.0)
    )
    assert result.latency_percentile == 90.0
    # A model's prices are its spec's: the session prices its results (test_session.py).
    assert result.pricing == Pricing()


def test_correctness_is_scored_against_expected() -> None:
    answers = {"one": "The capital is Paris.", "two words": "five", "three more words": "  42 "}
    backend = FakeBackend("base", answers=answers)
    result = measure(
        backend,
        workload(expected=[" paris ", "4", "42"]),
        Protocol(repeats=2, warmup=0),
    )
    assert [sample.correct for sample in result.samples] == [True, False, True]
    assert result.accuracy == pytest.approx(2 / 3)


def test_without_expected_nothing_is_scored() -> None:
    result = measure(FakeBackend("base"), workload(), Protocol(repeats=1, warmup=0))
    assert all(sample.correct is None for sample in result.samples)
    assert result.accuracy is None


# --- measure_paired -----------------------------------------------------------------------


def run_paired(
    seed: int, repeats: int = 4, warmup: int = 1
) -> tuple[list[tuple[str, str, int]], Any, Any]:
    log: list[tuple[str, str, int]] = []
    baseline, candidate = FakeBackend("base", log), FakeBackend("cand", log)
    base_result, cand_result = measure_paired(
        baseline, candidate, workload(), Protocol(repeats=repeats, warmup=warmup, seed=seed)
    )
    return log, base_result, cand_result


def runs_only(log: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    return [entry for entry in log if entry[1] != "placed afresh"]


def first_in_pairs(log: list[tuple[str, str, int]], warmup: int = 1) -> list[str]:
    pairs = runs_only(log)[2 * warmup :]
    return [pairs[i][0] for i in range(0, len(pairs), 2)]


def test_paired_warms_up_both_models_first() -> None:
    log, _, _ = run_paired(seed=0, warmup=2)
    assert [name for name, _, _ in log[:4]] == ["base", "base", "cand", "cand"]
    assert all(prompt == "one" for _, prompt, _ in log[:4])


def test_each_pair_runs_both_models_back_to_back_on_the_same_request() -> None:
    log, _, _ = run_paired(seed=3)
    pairs = runs_only(log)[2:]
    assert len(pairs) == 2 * 4 * len(PROMPTS)
    for first, second in zip(pairs[::2], pairs[1::2], strict=True):
        assert {first[0], second[0]} == {"base", "cand"}
        assert first[1:] == second[1:]  # same prompt, same seed


def test_both_models_are_placed_afresh_before_every_pass_over_the_prompts() -> None:
    log, _, _ = run_paired(seed=1, repeats=3)
    placed = [index for index, entry in enumerate(log) if entry[1] == "placed afresh"]
    assert len(placed) == 2 * 3  # both models, before each of the 3 passes
    passes = [log[index + 2 : index + 2 + 2 * len(PROMPTS)] for index in placed[::2]]
    for measured in passes:  # a whole pass of pairs follows, no placement within it
        assert [entry[1] for entry in measured] == [p for p in PROMPTS for _ in range(2)]
    assert {log[index][0] for index in placed[:2]} == {"base", "cand"}


def test_a_model_measured_alone_is_not_placed_afresh() -> None:
    backend = FakeBackend("base")
    measure(backend, workload(), Protocol(repeats=3, warmup=0))
    assert all(entry[1] != "placed afresh" for entry in backend.log)


def test_both_orders_occur() -> None:
    log, _, _ = run_paired(seed=0)
    assert set(first_in_pairs(log)) == {"base", "cand"}


def test_same_seed_gives_the_same_order() -> None:
    assert run_paired(seed=5)[0] == run_paired(seed=5)[0]


def test_the_seed_decides_the_order() -> None:
    orders = {tuple(first_in_pairs(run_paired(seed=seed)[0])) for seed in range(5)}
    assert len(orders) > 1


def test_paired_results_hold_each_models_own_runs() -> None:
    _, base_result, cand_result = run_paired(seed=0, repeats=3)
    for result in (base_result, cand_result):
        assert len(result.samples) == len(PROMPTS)
        assert all(len(sample.runs) == 3 for sample in result.samples)
    assert base_result.texts == [f"base says {prompt}" for prompt in PROMPTS]
    assert cand_result.texts == [f"cand says {prompt}" for prompt in PROMPTS]
    # each backend counts its own calls: 1 warm-up + 9 measured, latencies 2..10
    assert sorted(run.latency_ms for run in base_result.runs) == [float(n) for n in range(2, 11)]
    assert sorted(run.latency_ms for run in cand_result.runs) == [float(n) for n in range(2, 11)]


def test_paired_scores_both_models() -> None:
    log: list[tuple[str, str, int]] = []
    baseline = FakeBackend("base", log, answers={"one": "yes", "two words": "yes"})
    candidate = FakeBackend("cand", log, answers={"one": "yes", "two words": "no"})
    base_result, cand_result = measure_paired(
        baseline,
        candidate,
        workload(prompts=["one", "two words"], expected=["yes", "yes"]),
        Protocol(repeats=1, warmup=0),
    )
    assert base_result.accuracy == 1.0
    assert cand_result.accuracy == 0.5
