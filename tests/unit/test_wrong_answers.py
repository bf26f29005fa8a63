"""A failed accuracy limit shows which answers were wrong: the prompt, the expected answer,
both models' answers; a few in the terminal, every one in the JSON record and the Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.backends.base import Completion
from pytest_llmperf.judge.records import record_from
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.report import json_report, markdown
from pytest_llmperf.report.terminal import failure_lines
from pytest_llmperf.session.session import CANDIDATE
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.unit.test_session import TimedFake, session_with

QUESTIONS = [f"Q{n}: capital?" for n in range(5)]
EXPECTED = ["Paris", "Rome", "Bern", "Oslo", "Lima"]


class AnsweringFake(TimedFake):
    """Answers each prompt from a table (timed like TimedFake)."""

    def __init__(self, answers: Mapping[str, str], seed: int) -> None:
        super().__init__(1.0, seed)
        self.answers = answers

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        timed = super().complete(prompt, generation, seed)
        return Completion(self.answers[prompt], 3, timed.run)


def record_of(candidate_answers: list[str], **limits: Any) -> dict[str, Any]:
    baseline = AnsweringFake(
        dict(zip(QUESTIONS, ["Paris.", "Rome.", "Zurich.", "Oslo.", "Lima."], strict=True)), 1
    )
    candidate = AnsweringFake(dict(zip(QUESTIONS, candidate_answers, strict=True)), 2)
    session = session_with(baseline, candidate)
    session.generate("t.py::test_q", CANDIDATE, QUESTIONS, EXPECTED, {}, pair_with_baseline=True)
    return record_from(session.judge("t.py::test_q", parse_budget((), limits)))


WRONG = ["I think\nLyon", "Milan", "Geneva", "Bergen", "Lima it is"]


@pytest.fixture(scope="module")
def failed() -> dict[str, Any]:
    return record_of(WRONG, min_accuracy=0.8, accuracy_drop=0.1)


def test_the_record_holds_every_wrong_answer_beside_the_baselines(failed) -> None:
    assert failed["failed"]
    wrong = failed["wrong_answers"]
    assert [answer["prompt"] for answer in wrong] == QUESTIONS[:4]
    assert wrong[0] == {
        "id": "0",
        "score": 0.0,
        "prompt": "Q0: capital?",
        "expected": "Paris",
        "candidate": "I think\nLyon",
        "baseline": "Paris.",
        "baseline_correct": True,
        "baseline_score": 1.0,
    }
    assert wrong[2]["baseline"] == "Zurich." and wrong[2]["baseline_correct"] is False


def test_no_expected_answers_no_list_and_all_right_an_empty_one() -> None:
    assert record_of(EXPECTED, min_accuracy=0.8)["wrong_answers"] == []
    session = session_with(TimedFake(1.0, 1), TimedFake(1.0, 2))
    session.generate("t.py::test_x", CANDIDATE, QUESTIONS, None, {}, pair_with_baseline=True)
    record = record_from(session.judge("t.py::test_x", parse_budget((), {"tokens_ratio": 2})))
    assert record["wrong_answers"] is None


def test_the_failure_message_shows_the_first_three(failed) -> None:
    lines = list(failure_lines(failed))
    start = next(i for i, line in enumerate(lines) if "wrong answers:" in line)
    assert lines[start] == (
        "  wrong answers: 4 of 5 prompts (3 shown; every one is in the JSON and Markdown reports)"
    )
    assert lines[start + 1 : start + 5] == [
        '    1. prompt:    "Q0: capital?"',
        '       expected:  "Paris"',
        '       candidate: "I think\\nLyon"',
        '       baseline:  "Paris." (right)',
    ]
    assert '       baseline:  "Zurich." (wrong too)' in lines
    assert not any("Q3: capital?" in line for line in lines[start:])


def test_the_record_and_the_message_hold_the_changed_answers_each_way(failed) -> None:
    changed = failed["changed_answers"]
    assert [(answer["prompt"], answer["change"]) for answer in changed] == [
        ("Q0: capital?", "right->wrong"),
        ("Q1: capital?", "right->wrong"),
        ("Q3: capital?", "right->wrong"),
    ]
    assert changed[0] == {
        "question_id": "0",  # inline prompts are numbered by their position
        "prompt": "Q0: capital?",
        "expected": "Paris",
        "baseline": "Paris.",
        "candidate": "I think\nLyon",
        "baseline_score": 1.0,
        "candidate_score": 0.0,
        "change": "right->wrong",
    }
    (drop,) = [v for v in failed["verdicts"] if v["limit"] == "accuracy_drop"]
    assert drop["quality"]["questions"] == 5
    assert (drop["quality"]["right_to_wrong"], drop["quality"]["wrong_to_right"]) == (3, 0)
    lines = list(failure_lines(failed))
    start = lines.index("  changed answers: 3")
    assert lines[start + 1] == '    1. right->wrong [0]: "Q0: capital?"'


def test_no_wrong_answers_shown_when_no_accuracy_limit_failed() -> None:
    record = record_of(WRONG, tokens_ratio=1.0, min_accuracy=0.1)
    assert record["wrong_answers"]
    assert not any("wrong answers" in line for line in failure_lines(record))


def test_the_markdown_lists_every_wrong_answer(failed) -> None:
    report = json_report.build_report(
        [failed], Settings(candidate=ModelSpec("./ckpt", Path("."))), None
    )
    text = markdown.render(report)
    assert "<details><summary>Wrong answers of `t.py::test_q`: 4 of 5 prompts</summary>" in text
    assert "| # | prompt | expected | candidate | baseline |" in text
    assert "| 1 | `Q0: capital?` | `Paris` | `I think Lyon` | `Paris.` ✅ |" in text
    assert "| 4 | `Q3: capital?` | `Oslo` | `Bergen` | `Oslo.` ✅ |" in text
    assert "| 3 | `Q2: capital?` | `Bern` | `Geneva` | `Zurich.` ❌ |" in text
    assert "<details><summary>Changed answers of `t.py::test_q`: 3 worse, 0 better" in text
    assert "| 3 | right->wrong | `3` | `Q3: capital?` | `Oslo` | `Oslo.` | `Bergen` |" in text


def test_a_long_list_of_answers_is_cut_to_fit_one_pull_request_comment(failed) -> None:
    record = dict(failed)
    long = "wörd " * 80
    record["wrong_answers"] = [
        {**failed["wrong_answers"][0], "prompt": f"{n}: {long}"} for n in range(600)
    ]
    record["changed_answers"] = [
        {**failed["changed_answers"][0], "prompt": f"{n}: {long}"} for n in range(600)
    ]
    report = json_report.build_report(
        [record], Settings(candidate=ModelSpec("./ckpt", Path("."))), None
    )
    text = markdown.render(report)
    assert len(text.encode()) <= markdown.COMMENT_CHARACTERS
    assert text.rstrip().endswith("</sub>")  # the footer stays
    assert text.count("<details>") == text.count("</details>")
    assert "| 1 | right->wrong |" in text  # the first of each list is shown
    assert "| 1 | `0: wörd" in text
    shown_changed = text.count("| right->wrong |")
    assert f"{600 - shown_changed} more changed answers left out" in text
    assert "every answer is in the JSON report (--llm-report)" in text
