"""Scorers: each built-in on the answers models give, a user's callable returning a bool or a
graded score, hostile results and a scorer that runs past its timeout."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from pytest_llmperf import scorers
from pytest_llmperf.backends.base import Completion
from pytest_llmperf.errors import GenerationError, ScorerError
from pytest_llmperf.measure.scoring import Scored, checked, resolve_scorer, score_answer
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.results import GenerationResult, PromptSample, Run
from pytest_llmperf.session.session import CANDIDATE
from tests.unit.test_session import TimedFake, session_with


def test_contains_and_exact_keep_their_names_and_meaning() -> None:
    assert scorers.contains("The capital is Paris.", "paris")
    assert not scorers.contains("Lyon", "Paris")
    assert scorers.exact("  PARIS ", "paris") and not scorers.exact("Paris.", "Paris")
    assert resolve_scorer("contains")[0] == resolve_scorer(scorers.contains)[0] == "contains"
    assert resolve_scorer(None)[0] == "contains" and resolve_scorer(scorers.exact)[0] == "exact"


def test_regex_compares_its_first_group_or_whole_match_as_exact_does() -> None:
    answer = scorers.regex(r"Answer: (\w+)")
    assert answer("Let me think. Answer: Paris, surely", "paris")
    assert not answer("Answer: Lyon", "Paris") and not answer("Paris", "Paris")
    assert scorers.regex(r"\d+")("it is 42 or so", "42")
    assert answer.name == "regex('Answer: (\\\\w+)')"
    optional = scorers.regex(r"x(\d)?")
    assert not optional("x", "1")  # a group that took no part is no answer


@pytest.mark.parametrize("pattern", ["(unclosed", "*", 5])
def test_a_bad_pattern_is_an_error_naming_it(pattern: Any) -> None:
    with pytest.raises(ScorerError, match=r"scorers\.regex\(.*\)"):
        scorers.regex(pattern)


@pytest.mark.parametrize(
    ("answer", "expected", "right"),
    [
        ("The total is 1,234.", "1234", True),
        ("1,234.50 dollars", "1234.5", True),
        ("First 3, then 7", "7", True),
        ("First 3, then 7", "3", False),
        ("It fell to -12 degrees", "-12", True),
        ("It fell to \u221212 degrees", "-12", True),
        ("+5", "5", True),
        ("about .5", "0.5", True),
        ("1e3 items", "1000", True),
        ("on 2024-01-05", "5", True),  # a hyphen after a digit is no minus sign
        ("H2O", "2", False),  # part of a word is no number
        ("no number here", "4", False),
        ("twelve", "12", False),
    ],
)
def test_number_reads_the_last_number(answer: str, expected: str, right: bool) -> None:
    assert scorers.number()(answer, expected) is right


def test_number_within_its_tolerance() -> None:
    assert scorers.number(tolerance=0.01)("pi is 3.14159", "3.14")
    assert not scorers.number(tolerance=0.001)("pi is 3.14159", "3.14")
    assert scorers.number()("12345678901234567", "12345678901234567")
    assert not scorers.number()("12345678901234567", "12345678901234568")  # no float rounding
    assert scorers.number(0.5).name == "number(tolerance=0.5)"
    with pytest.raises(ScorerError, match=r"has no number in it"):
        scorers.number()("4", "four")


@pytest.mark.parametrize("tolerance", [-1, math.nan, math.inf, "0.1", True])
def test_number_refuses_a_bad_tolerance(tolerance: Any) -> None:
    with pytest.raises(ScorerError, match=r"the tolerance must be a finite number of at least 0"):
        scorers.number(tolerance)


def test_json_valid_finds_the_json_in_the_answer() -> None:
    valid = scorers.json_valid()
    assert valid('{"name": "Ada"}', "x") and valid('Sure! {"a": [1, 2]} Anything else?', "x")
    assert valid("[1, 2]", "x") and valid("Here: [1] and {", "x")
    assert not valid("{not json}", "x") and not valid("plain text", "x")
    assert not valid("{" * 5000, "x")  # hostile brackets: quick and wrong, not an error
    assert valid.implied_expected == "valid JSON"


def test_json_valid_with_a_schema() -> None:
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        with pytest.raises(ScorerError, match=r"not installed: pip install jsonschema"):
            scorers.json_valid({"type": "object"})
        return
    person = scorers.json_valid({"type": "object", "required": ["name"]})
    assert person('{"name": "Ada"}', "x") and not person('{"age": 3}', "x")
    assert person.name.startswith("json_valid(schema sha256 ")
    with pytest.raises(ScorerError, match=r"the schema is not valid"):
        scorers.json_valid({"type": 5})


@pytest.mark.parametrize(
    "answer",
    [
        "B",
        "(B)",
        "Answer: B",
        "The answer is B.",
        "answer: (B)",
        "B) Paris",
        "b) Paris",
        "I think B",
    ],
)
def test_choice_reads_the_letter(answer: str) -> None:
    assert scorers.choice()(answer, "B")
    assert scorers.choice()(answer, "Paris", ["Rome", "Paris", "Bern"])  # B is the 2nd choice


@pytest.mark.parametrize("answer", ["A cat has four legs", "C", "Paris", "", "Answer: Paris"])
def test_choice_wrong_or_no_letter(answer: str) -> None:
    assert not scorers.choice()(answer, "B")


def test_choice_by_the_choice_text_and_bad_expected_answers() -> None:
    choose = scorers.choice()
    assert choose("Paris", "Paris", ["Rome", "Paris"])  # the answer is a choice's text
    assert choose("(b)", "(B)") and choose("B", "b.")
    with pytest.raises(
        ScorerError, match=r"neither a choice letter \(A-Z\) nor one of the choices"
    ):
        choose("B", "Lyon", ["Rome", "Paris"])


@pytest.mark.parametrize("name", ["regex", "number", "json_valid", "choice"])
def test_a_scorer_that_needs_arguments_by_name_says_how_to_build_it(name: str) -> None:
    with pytest.raises(
        GenerationError, match=rf"scorer='{name}' needs its arguments.*scorers\.{name}\("
    ):
        resolve_scorer(name)
    with pytest.raises(GenerationError, match=rf"scorers\.{name} needs to be called"):
        resolve_scorer(getattr(scorers, name))


def test_an_unknown_scorer_lists_the_valid_ones() -> None:
    with pytest.raises(
        GenerationError, match=r"scorer='fuzzy' is not a scorer. Give one of contains, exact"
    ):
        resolve_scorer("fuzzy")


# --- results: bools, graded scores, hostile values ------------------------------------------


@pytest.mark.parametrize(
    ("value", "scored"),
    [
        (True, Scored(1.0, True)),
        (False, Scored(0.0, False)),
        (np.bool_(True), Scored(1.0, True)),
        (0.5, Scored(0.5, None)),
        (1, Scored(1.0, None)),
        (np.float64(0.25), Scored(0.25, None)),
    ],
)
def test_a_bool_or_a_score_from_0_to_1(value: Any, scored: Scored) -> None:
    assert checked(value, "s", "'Q'") == scored


@pytest.mark.parametrize("value", [2, -0.1, math.nan, math.inf, "yes", None, [1], 1.0000001])
def test_anything_else_fails_naming_the_scorer_the_prompt_and_the_value(value: Any) -> None:
    prompt = "Q: " + "x" * 200
    with pytest.raises(ScorerError) as error:
        score_answer(lambda a, e, c: value, "my_scorer", prompt, "answer", "x", None, 5.0)
    message = str(error.value)
    assert "scorer my_scorer returned" in message and repr(value)[:20] in message
    assert "'Q: xxx" in message and "x" * 100 not in message  # the prompt, cut short


def test_a_scorer_that_raises_fails_naming_it_and_the_prompt() -> None:
    def broken(answer: str, expected: str, choices: Any) -> bool:
        raise KeyError("boom")

    with pytest.raises(
        ScorerError, match=r"scorer broken raised KeyError\('boom'\) on prompt 'Q: hi'"
    ):
        score_answer(broken, "broken", "Q: hi", "a", "x", None, 5.0)


def test_a_scorer_past_its_timeout_fails_naming_it_and_the_prompt() -> None:
    def slow(answer: str, expected: str, choices: Any) -> bool:
        time.sleep(0.5)
        return True

    with pytest.raises(
        ScorerError, match=r"scorer slow took more than 0.1 s on prompt 'Q: hi'.*scorer_timeout_s"
    ):
        score_answer(slow, "slow", "Q: hi", "a", "x", None, 0.1)


# --- through a session: samples keep the score, accuracy is the mean score ------------------


class EchoFake(TimedFake):
    """Answers each prompt with the prompt's own text."""

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        timed = super().complete(prompt, generation, seed)
        return Completion(str(prompt), 3, timed.run)


def _generate(scorer: Any, prompts: list[str], expected: list[str] | None, **settings: Any):
    session = session_with(EchoFake(1.0, 1), EchoFake(1.0, 2), **settings)
    return session.generate(
        "t.py::t", CANDIDATE, prompts, expected, {}, pair_with_baseline=False, scorer=scorer
    )


def test_a_graded_scorer_counts_half_right_as_half() -> None:
    result = _generate(
        lambda answer, expected: 0.5 if "half" in answer else 1.0, ["half", "all"], ["x", "x"]
    )
    assert [s.score for s in result.samples] == [0.5, 1.0]
    assert [s.correct for s in result.samples] == [None, None]  # graded: neither right nor wrong
    assert result.accuracy == 0.75
    assert [s.question_id for s in result.samples] == ["0", "1"]


def test_a_bool_scorer_keeps_correct_beside_its_score() -> None:
    result = _generate("contains", ["Paris", "Lyon"], ["paris", "paris"])
    assert [(s.score, s.correct) for s in result.samples] == [(1.0, True), (0.0, False)]
    assert result.accuracy == 0.5


def test_json_valid_needs_no_expected_answers() -> None:
    result = _generate(scorers.json_valid(), ['{"a": 1}', "nope"], None)
    assert result.accuracy == 0.5 and result.samples[0].expected == "valid JSON"


def test_a_hostile_scorer_fails_the_call_through_the_session() -> None:
    with pytest.raises(
        ScorerError, match=r"scorer .*<lambda> returned 'yes' \(str\) on prompt 'Paris'"
    ):
        _generate(lambda answer, expected: "yes", ["Paris"], ["x"])


def test_the_scorer_timeout_comes_from_the_settings() -> None:
    def slow(answer: str, expected: str) -> bool:
        time.sleep(0.5)
        return True

    with pytest.raises(ScorerError, match=r"took more than 0.1 s"):
        _generate(slow, ["Paris"], ["x"], scorer_timeout_s=0.1)


def test_accuracy_reads_correct_where_no_score_was_kept() -> None:
    run = (Run(1.0, None, 1, False),)
    old = GenerationResult(
        (PromptSample(0, 1, "a", run, True), PromptSample(1, 1, "b", run, False)), None
    )
    assert old.accuracy == 0.5


def test_question_ids_of_two_calls_stay_distinct_when_combined() -> None:
    run = (Run(1.0, None, 1, False),)

    def call(*ids: str) -> GenerationResult:
        return GenerationResult(
            tuple(PromptSample(n, 1, "a", run, question_id=i) for n, i in enumerate(ids)), None
        )

    both = GenerationResult.combine([call("0", "1"), call("0")])
    assert [s.question_id for s in both.samples] == ["1:0", "1:1", "2:0"]
    distinct = GenerationResult.combine([call("q1", "q2"), call("q3")])
    assert [s.question_id for s in distinct.samples] == ["q1", "q2", "q3"]


def test_the_workload_records_a_scorer_by_name() -> None:
    workload = Workload.from_call(["a"], {"max_new_tokens": 2}, ["a"], scorers.number(0.5))
    assert workload.scorer_name == "number(tolerance=0.5)"
