"""scorer="loglikelihood": multiple choice answered by the model's likelihoods, with no
generation. The continuation's encoding and log-probability sum, the expected choice read
from its text or letter, every bad input as an error before anything runs, the protocol's
runs (no output tokens, the choice as the answer), and a served model refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import torch

from pytest_llmperf import scorers
from pytest_llmperf.backends.base import Backend, ChoiceLikelihoods, Completion
from pytest_llmperf.backends.transformers_backend import (
    TransformersBackend,
    continuation_loglikelihoods,
    split_continuation,
)
from pytest_llmperf.errors import GenerationError, ScorerError
from pytest_llmperf.measure.load import LoadSpec
from pytest_llmperf.measure.protocol import Protocol, measure, measure_paired
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.prompts import parse_prompts
from pytest_llmperf.results import Run
from pytest_llmperf.scorers import choice_index
from tests.models import tiny
from tests.servers import fake_server
from tests.unit.test_endpoint import _backend
from tests.unit.test_measure import FakeBackend
from tiny_gpt2 import gpt2

GENERATION = {"max_new_tokens": 8, "do_sample": False}
CITIES = ("Paris", "Rome", "Bern")


def likelihood_workload(
    prompts: Sequence[str] = ("Capital of France?", "Capital of Italy?"),
    expected: Sequence[str] | None = ("Paris", "B"),
    choices: Any = CITIES,
    generation: Mapping[str, Any] = GENERATION,
) -> Workload:
    return Workload.from_call(list(prompts), generation, expected, "loglikelihood", None, choices)


# --- the continuation and its log-likelihood ----------------------------------------------


@pytest.mark.parametrize(
    ("context", "choice", "split"),
    [
        ("Q: Capital? A:", "Paris", ("Q: Capital? A:", " Paris")),  # lm-eval's " " delimiter
        ("Q: Capital? A: ", "Paris", ("Q: Capital? A:", " Paris")),  # the space moves over
        ("Q: Capital? A:\n", "Paris", ("Q: Capital? A:", "\nParis")),
        ("Q: Capital? A:", " Paris", ("Q: Capital? A:", " Paris")),  # no second space
    ],
)
def test_a_text_prompt_is_continued_as_lm_evaluation_harness_does(
    context: str, choice: str, split: tuple[str, str]
) -> None:
    assert split_continuation(context, choice, conversation=False) == split


def test_a_rendered_conversation_is_continued_by_the_choice_as_it_is() -> None:
    rendered = "<|user|>Capital?<|assistant|>\n"
    assert split_continuation(rendered, "Paris", conversation=True) == (rendered, "Paris")


def test_the_log_likelihood_is_the_sum_over_the_continuations_tokens() -> None:
    logits = torch.tensor(
        [
            [[0.0, 1.0, 2.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0], [9.0, 9.0, 9.0]],
            [[0.0, 1.0, 2.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        ]
    )
    rows = [[2, 1, 0, 2], [2, 1, 1]]  # a context of two tokens, then each continuation

    def log_prob(row: int, position: int, token: int) -> float:
        return float(torch.log_softmax(logits[row, position], dim=-1)[token])

    sums = continuation_loglikelihoods(logits, rows, 2).tolist()
    # Row 0: token 0 at position 2 comes from the logits at 1, token 2 at 3 from those at 2.
    assert sums[0] == pytest.approx(log_prob(0, 1, 0) + log_prob(0, 2, 2))
    assert sums[1] == pytest.approx(log_prob(1, 1, 1))  # padding (position 3) is never read
    assert continuation_loglikelihoods(logits.half(), rows, 2).dtype == torch.float32


def test_the_likeliest_choice_is_the_first_of_equals() -> None:
    run = Run(1.0, None, 0, False)
    assert ChoiceLikelihoods((-3.0, -1.0, -1.0), 4, run).best == 1
    assert ChoiceLikelihoods((-0.5,), 4, run).best == 0


@pytest.fixture(scope="module")
def untrained() -> TransformersBackend:
    """A random one-layer GPT-2 on the tiny tokenizer: numbers, not answers."""
    torch.manual_seed(0)
    tokenizer = tiny.build_tokenizer()
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    model = gpt2(tokenizer, n_layer=1, n_embd=16, n_head=2).eval()
    return TransformersBackend("untrained", model, tokenizer, torch.device("cpu"))


def test_one_padded_pass_scores_each_choice_as_its_own_pass_would(
    untrained: TransformersBackend,
) -> None:
    model, tokenizer = untrained._model, untrained._tokenizer
    prompt, choices = "Q: What is the capital of France? A:", ["Paris.", "The city of Paris."]
    ranked = untrained.choice_likelihoods(prompt, choices)
    context = tokenizer(prompt)["input_ids"]
    for choice, value in zip(choices, ranked.loglikelihoods, strict=True):
        ids = tokenizer(prompt + " " + choice)["input_ids"]
        with torch.inference_mode():
            alone = continuation_loglikelihoods(
                model(torch.tensor([ids])).logits, [ids], len(context)
            )
        assert value == pytest.approx(float(alone[0]), abs=1e-5)
        assert value < 0
    assert ranked.input_tokens == len(context)
    assert ranked.run.output_tokens == 0 and ranked.run.ttft_ms is None
    assert ranked.run.latency_ms > 0 and not ranked.run.hit_max_new_tokens
    assert ranked.run.tpot_ms is None


def test_a_conversation_is_continued_after_its_rendering(untrained: TransformersBackend) -> None:
    (conversation,) = parse_prompts([[{"role": "user", "content": "Capital of France?"}]])
    ranked = untrained.choice_likelihoods(conversation, ["Paris", "Rome"])
    rendered = untrained.rendered(conversation)
    assert rendered.endswith("<assistant>")
    tokenizer, model = untrained._tokenizer, untrained._model
    context = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    ids = tokenizer(rendered + "Rome", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        alone = continuation_loglikelihoods(model(torch.tensor([ids])).logits, [ids], len(context))
    assert ranked.input_tokens == len(context)
    assert ranked.loglikelihoods[1] == pytest.approx(float(alone[0]), abs=1e-5)


def test_a_prompt_and_choice_longer_than_the_context_is_an_error(
    untrained: TransformersBackend,
) -> None:
    context = untrained.context_length
    assert context is not None
    with pytest.raises(GenerationError, match=rf"more than untrained's context of {context}"):
        untrained.choice_likelihoods("Q: hi A:", ["Paris " * context, "Rome"])


# --- the expected choice ------------------------------------------------------------------


def test_the_expected_choice_is_its_text_or_its_letter() -> None:
    assert choice_index("Rome", CITIES) == 1
    assert choice_index(" rome ", CITIES) == 1  # ignoring case and surrounding space
    assert choice_index("C", CITIES) == 2 and choice_index("(c)", CITIES) == 2
    assert choice_index("A", ("B", "A")) == 1  # a choice's text wins over a letter
    with pytest.raises(ScorerError, match=r"'D' is not one of the choices .* letter \(A-C\)"):
        choice_index("D", CITIES)
    with pytest.raises(ScorerError, match=r"'Lyon' is not one of the choices"):
        choice_index("Lyon", CITIES)


def test_the_loglikelihood_scorer_checks_the_choice_picked() -> None:
    assert scorers.loglikelihood("Rome", "B", CITIES)
    assert scorers.loglikelihood("Rome", "rome", CITIES)
    assert not scorers.loglikelihood("Paris", "Rome", CITIES)
    assert scorers.loglikelihood.name == "loglikelihood" and scorers.loglikelihood.by_likelihood
    assert not scorers.choice().by_likelihood


# --- the workload: every bad input an error before anything runs ---------------------------


def test_a_loglikelihood_workload_takes_choices_shared_or_per_prompt() -> None:
    shared = likelihood_workload()
    assert shared.by_likelihood and shared.scorer_name == "loglikelihood"
    assert shared.choices == (CITIES, CITIES)
    each = likelihood_workload(choices=[["Paris", "Lyon"], ("Milan", "Rome")], expected=("A", "B"))
    assert each.choices == (("Paris", "Lyon"), ("Milan", "Rome"))
    by_object = Workload.from_call(
        ["q"], GENERATION, ["Paris"], scorers.loglikelihood, None, CITIES
    )
    assert by_object.by_likelihood
    assert not Workload.from_call(["q"], GENERATION, ["Paris"], "exact").by_likelihood


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expected": None}, r"needs each prompt's expected choice: pass expected="),
        ({"choices": None}, r"prompt 0 has none: give them in the eval set's `choices`"),
        ({"choices": ["Paris"]}, r"needs at least two, none of them empty"),
        ({"choices": ["Paris", " "]}, r"needs at least two, none of them empty"),
        ({"choices": ["Paris", "paris ", "Rome"]}, r"repeats the choice 'Paris' \(ignoring"),
        ({"expected": ("Paris", "Lyon")}, r"prompt 1: the expected answer 'Lyon' is not one of"),
        ({"expected": ("Paris", "D")}, r"'D' is not one of the choices .*\(A-C\)"),
        (
            {"generation": {**GENERATION, "do_sample": True}},
            r"generates nothing, so there is nothing to sample: leave out do_sample=True",
        ),
    ],
)
def test_bad_loglikelihood_input_is_an_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(GenerationError, match=message):
        likelihood_workload(**kwargs)


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ("Paris", r"choices='Paris' is not a list of strings shared by every prompt"),
        ([], r"is not a list of strings"),
        ([["Paris", "Rome"], "Bern"], r"is not a list of strings"),
        ([["Paris", "Rome"], []], r"is not a list of strings"),
        ([["Paris", 3]], r"is not a list of strings"),
        ([["Paris", "Rome"]], r"choices has 1 lists for 2 prompts: give one per prompt"),
    ],
)
def test_bad_choices_are_an_error(choices: Any, message: str) -> None:
    with pytest.raises(GenerationError, match=message):
        likelihood_workload(choices=choices)


def test_an_eval_set_brings_its_own_choices(tmp_path: Any) -> None:
    from pytest_llmperf import load_eval

    path = tmp_path / "mc.jsonl"
    path.write_text('{"id": "fr", "prompt": "Capital?", "expected": "B", "choices": ["Rome"]}\n')
    with pytest.raises(GenerationError, match=r"leave out choices="):
        Workload.from_call(load_eval(path), GENERATION, None, "loglikelihood", None, CITIES)
    with pytest.raises(GenerationError, match=r"prompt 0 \(id 'fr'\) has the choices \['Rome'\]"):
        Workload.from_call(load_eval(path), GENERATION, None, "loglikelihood")


@pytest.mark.parametrize(
    ("load", "batch_size"), [(LoadSpec(2, None, 10, 60.0), None), (None, 2)], ids=["load", "batch"]
)
def test_loglikelihood_runs_one_prompt_at_a_time(load: Any, batch_size: Any) -> None:
    with pytest.raises(GenerationError, match=r"leave out batch_size, concurrency and rate"):
        likelihood_workload().delivered(load, batch_size)


def test_several_samples_of_a_likelihood_are_an_error() -> None:
    with pytest.raises(GenerationError, match=r"a choice's likelihood is the same every time"):
        likelihood_workload().sampled(3)


# --- the protocol -------------------------------------------------------------------------


class LikelihoodFake(FakeBackend):
    """Scores choices from a table of log-likelihoods per prompt; generating is an error."""

    def __init__(self, name: str, table: Mapping[str, Sequence[float]], **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.table = table
        self.scored: list[tuple[str, tuple[str, ...]]] = []

    @property
    def scores_likelihoods(self) -> bool:
        return True

    def choice_likelihoods(self, prompt: Any, choices: Sequence[str]) -> ChoiceLikelihoods:
        self.scored.append((str(prompt), tuple(choices)))
        return ChoiceLikelihoods(tuple(self.table[str(prompt)]), 3, Run(2.0, None, 0, False))

    def complete(self, prompt: Any, generation: Mapping[str, Any], seed: int) -> Completion:
        raise AssertionError("a loglikelihood call generates nothing")

    def count_figures(self, prompt: Any, generation: Mapping[str, Any], seed: int) -> Any:
        raise AssertionError("a generation's figures are not a forward pass's")


TABLE = {"Capital of France?": [-0.1, -2.0, -3.0], "Capital of Italy?": [-0.5, -0.7, -9.0]}


def test_the_answer_is_the_likeliest_choice_and_nothing_is_generated() -> None:
    backend = LikelihoodFake("base", TABLE)
    result = measure(backend, likelihood_workload(), Protocol(repeats=2, warmup=1))
    assert result.texts == ["Paris", "Paris"]  # Italy's likeliest is wrong: Paris, not Rome
    assert [sample.score for sample in result.samples] == [1.0, 0.0]
    assert result.accuracy == 0.5 and result.scorers == ("loglikelihood",)
    assert result.output_tokens == 0 and result.ttft_ms is None and result.tpot_ms is None
    assert result.latency_ms == 2.0 and result.input_tokens == 3
    assert len(backend.scored) == 1 + 2 * 2  # a warm-up pass of the first, two repeats of both
    assert backend.scored[0] == ("Capital of France?", CITIES)
    assert result.figures.weights_mb == 100.0 and result.flops is None
    assert result.kv_cache_mb is None
    assert result.peak_memory_mb == pytest.approx(105.0)  # weights and the pass's increase


def test_both_models_rank_the_same_choices_in_pairs() -> None:
    base, cand = LikelihoodFake("base", TABLE), LikelihoodFake("cand", TABLE)
    results = measure_paired(base, cand, likelihood_workload(), Protocol(repeats=1, warmup=0))
    assert [result.accuracy for result in results] == [0.5, 0.5]
    assert base.scored == cand.scored


class Unscoring(FakeBackend):
    """A model that cannot rank choices (as a served one)."""

    def complete(self, prompt: Any, generation: Mapping[str, Any], seed: int) -> Completion:
        raise AssertionError("nothing runs before the error")


def test_a_model_that_cannot_score_likelihoods_is_an_error_before_anything_runs() -> None:
    backend = Unscoring("./served")
    with pytest.raises(GenerationError, match=r"needs a model run in this process.*\./served"):
        measure(backend, likelihood_workload(), Protocol(repeats=1, warmup=1))
    assert backend.trackers == [] and backend.calls == 0
    with pytest.raises(GenerationError, match=r"scorers\.choice\(\)"):
        Backend.choice_likelihoods(backend, "q", CITIES)


def test_a_served_model_cannot_score_likelihoods() -> None:
    with fake_server() as server:
        backend = _backend(server.url, "ok")
        with pytest.raises(
            GenerationError,
            match=r"is served by an endpoint, and pytest-llmperf does not read "
            r"log-probabilities from servers\. Pass the checkpoint itself",
        ):
            measure(backend, likelihood_workload(), Protocol(repeats=1, warmup=1))
    assert not any("completions" in request["path"] for request in server.requests)
