"""The question-answer set and scorer behind the example's checkpoints (no full training):
example_project/qa_models.py, imported from the repository's root."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

import tiny_gpt2
from example_project.catalogue import (
    EVAL_FILE,
    FACTS,
    PRODUCTS,
    eval_lines,
    last_number,
    prompt_for,
)
from example_project.qa_models import (
    BASELINE_FACTS,
    BASELINE_PRODUCTS,
    CHECKPOINT_NAMES,
    DONT_KNOW,
    FINE_TUNED_PRODUCTS,
    LONG_ANSWERS,
    QA,
    QA_ANSWERS,
    QA_PROMPTS,
    QUESTIONS,
    RESEED_PRODUCTS,
    SHORT_ANSWERS,
    accuracy,
    build_all,
    build_tokenizer,
    evaluate,
    is_correct,
)
from pytest_llmperf import load_eval, scorers
from tests.models import tiny
from tiny_gpt2 import _shuffled_batches, gpt2, save_checkpoint

# --- the data set ---------------------------------------------------------------------------


def test_data_set_has_20_to_40_distinct_questions():
    assert 20 <= len(QA) <= 40
    assert len(set(QUESTIONS)) == len(QUESTIONS)
    assert len(QA_PROMPTS) == len(QA_ANSWERS) == len(SHORT_ANSWERS) == len(LONG_ANSWERS)


def test_prompts_use_the_tiny_models_format():
    assert tuple(tiny.prompt_for(q) for q in QUESTIONS) == QA_PROMPTS
    assert all(p.startswith("Q: ") and p.endswith("? A:") for p in QA_PROMPTS)


@pytest.mark.parametrize(("question", "short", "expected", "long"), QA, ids=QUESTIONS)
def test_each_row_is_consistent(question, short, expected, long):
    assert 1 <= len(expected.split()) <= 2
    assert expected == expected.lower().strip()
    assert is_correct(short, expected)
    assert long.startswith(short)  # the verbose model opens with the short answer ...
    assert is_correct(long.removeprefix(short), expected)  # ... and names it again
    assert len(long.split()) >= 3 * len(short.split())


def test_no_answer_scores_for_another_question():
    # A model that mixes up two answers, or says it does not know, must not score.
    for index, expected in enumerate(QA_ANSWERS):
        assert not is_correct(DONT_KNOW, expected)
        others = [short for other, short in enumerate(SHORT_ANSWERS) if other != index]
        assert not any(is_correct(short, expected) for short in others), expected


def test_baseline_is_left_some_questions_to_get_wrong():
    assert 0.6 <= BASELINE_FACTS / len(QA) <= 0.9


def test_tokenizer_encodes_every_text_and_ends_with_eos():
    tokenizer = build_tokenizer()
    assert tokenizer.eos_token == tiny_gpt2.EOS
    catalogue = [(prompt_for(fact.question), fact.long_answer) for fact in FACTS]
    for prompt, long in [*zip(QA_PROMPTS, LONG_ANSWERS, strict=True), *catalogue]:
        ids = tokenizer(f"{prompt} {long}{tiny_gpt2.EOS}")["input_ids"]
        assert ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(ids, skip_special_tokens=True) == f"{prompt} {long}"
        assert len(ids) < 100  # well within n_positions=128 with max_new_tokens on top


# --- the catalogue and its eval set --------------------------------------------------------


def test_eval_file_is_what_the_catalogue_writes():
    # `python example_project/catalogue.py` rewrites it: the committed file stays current.
    assert EVAL_FILE.read_text(encoding="utf-8").splitlines() == eval_lines()


def test_eval_file_loads_as_400_questions_with_ids_and_numbers():
    evals = load_eval(EVAL_FILE)
    assert len(evals.items) == len(FACTS) == 400
    assert list(evals.ids) == [fact.id for fact in FACTS]
    assert all(answer.isdigit() for answer in evals.expected)


@pytest.mark.parametrize("fact", FACTS[:: len(FACTS) // 20], ids=lambda fact: fact.id)
def test_each_answer_is_scored_by_its_number(fact):
    score = scorers.number()
    assert fact.product in fact.question
    assert fact.long_answer.startswith(fact.short_answer)
    for answer in (fact.short_answer, fact.long_answer):
        assert last_number(answer) == fact.number
        assert score(f" {answer}", str(fact.number)) is True
    assert last_number(DONT_KNOW) is None
    assert score(f" {DONT_KNOW}", str(fact.number)) is False


def test_what_each_checkpoint_knows_sets_its_accuracy_on_the_eval_set():
    def share(known: frozenset[str]) -> float:
        return sum(fact.product in known for fact in FACTS) / len(FACTS)

    assert len(set(PRODUCTS)) == 100
    assert share(BASELINE_PRODUCTS) == 0.75
    assert BASELINE_PRODUCTS < FINE_TUNED_PRODUCTS
    assert share(FINE_TUNED_PRODUCTS) == 0.84  # +9 points, all one way
    assert share(RESEED_PRODUCTS) == 0.77  # +2 points: 16 questions won, 8 lost
    won, lost = RESEED_PRODUCTS - BASELINE_PRODUCTS, BASELINE_PRODUCTS - RESEED_PRODUCTS
    assert (len(won) * 4, len(lost) * 4) == (16, 8)


def test_batches_cover_every_text_once_an_epoch_in_a_seeded_order():
    texts = [[index] for index in range(5)]

    def two_epochs() -> list[list[list[int]]]:
        return list(itertools.islice(_shuffled_batches(texts, 2, seed=3), 6))

    first = two_epochs()
    assert [len(batch) for batch in first] == [2, 2, 1, 2, 2, 1]
    for epoch in (first[:3], first[3:]):
        assert sorted(ids[0] for batch in epoch for ids in batch) == list(range(5))
    assert first[:3] != first[3:]  # each epoch in a fresh order
    assert first == two_epochs()


# --- the scorer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected", "correct"),
    [
        (" Paris.", "paris", True),
        (" PARIS, of course", "paris", True),
        (" The capital is paris", "Paris", True),
        (" Carbon dioxide.", "carbon dioxide", True),
        (" Carbon.", "carbon dioxide", False),
        (" Rome.", "paris", False),
        ("", "paris", False),
    ],
)
def test_is_correct_is_case_insensitive_containment(answer, expected, correct):
    assert is_correct(answer, expected) is correct


def test_accuracy_is_the_share_of_correct_answers():
    assert (
        accuracy([" Paris.", " Rome.", " blue sky", "no"], ["paris", "paris", "blue", "x"]) == 0.5
    )
    assert accuracy([f" {a}." for a in QA_ANSWERS]) == 1.0


def test_accuracy_refuses_mismatched_or_empty_lists():
    with pytest.raises(ValueError, match="2 answers for 1 expected"):
        accuracy(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no answers"):
        accuracy([], [])


# --- building and evaluating, without training ------------------------------------------


def test_build_all_keeps_existing_checkpoints(tmp_path):
    for name in CHECKPOINT_NAMES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    heard = []
    paths = build_all(tmp_path, log=lambda name, path, what: heard.append((name, what)))
    assert paths == {name: tmp_path / name for name in CHECKPOINT_NAMES}
    assert heard == [(name, "kept") for name in CHECKPOINT_NAMES]


def test_build_all_keeps_what_a_checkpoint_is_built_from(tmp_path):
    for name in ("baseline", "short", "large", "large-int8"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    heard = []
    paths = build_all(tmp_path, names=["large-int8"], log=lambda n, p, w: heard.append(n))
    assert paths == {"large-int8": tmp_path / "large-int8"}
    assert heard == ["baseline", "short", "large", "large-int8"]


def test_build_all_refuses_an_unknown_name(tmp_path):
    with pytest.raises(ValueError, match=r"unknown checkpoints \['larg'\]"):
        build_all(tmp_path, names=["larg"])


@pytest.fixture(scope="module")
def untrained(tmp_path_factory) -> Path:
    """A one-layer, 8-wide GPT-2 with random weights and the QA tokenizer: fast to run."""
    out = tmp_path_factory.mktemp("untrained")
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    return save_checkpoint(gpt2(tokenizer, n_layer=1, n_embd=8, n_head=1), tokenizer, out)


def test_evaluate_measures_accuracy_tokens_and_latency(untrained):
    before = torch.get_num_threads()
    result = evaluate(
        untrained,
        prompts=QA_PROMPTS[:2],
        expected=QA_ANSWERS[:2],
        repeats=2,
        max_new_tokens=3,
        threads=1,
    )
    assert torch.get_num_threads() == before
    assert set(result) == {"accuracy", "output_tokens", "latency_ms", "texts"}
    assert 0.0 <= result["accuracy"] <= 1.0
    assert 1 <= result["output_tokens"] <= 3
    assert result["latency_ms"] > 0
    assert len(result["texts"]) == 2
    assert not json.loads((untrained / "config.json").read_text()).get("quantization_config")


def test_evaluate_needs_at_least_one_repeat(untrained):
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        evaluate(untrained, repeats=0)
