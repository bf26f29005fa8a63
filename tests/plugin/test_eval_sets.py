"""Eval sets end to end: a test writes a JSONL eval set, generates from load_eval(path), and the
verdict and the JSON report show the accuracy and each question's id; a bad eval file is a
clear error without a traceback, at collection and in a test body."""

from __future__ import annotations

import json

from tests.models.tiny import QUESTIONS, SHORT_ANSWERS, prompt_for
from tests.plugin.helpers import run, summary_verdicts

ROWS = [
    {"id": f"q{number}", "prompt": prompt_for(question), "expected": answer.rstrip(".")}
    for number, (question, answer) in enumerate(zip(QUESTIONS, SHORT_ANSWERS, strict=True), 1)
]

EVAL_TEST = f"""
import json
from pathlib import Path

import pytest
from pytest_llmperf import load_eval

ROWS = {ROWS!r}
PATH = Path(__file__).parent / "evals.jsonl"
PATH.write_text("".join(json.dumps(row) + "\\n" for row in ROWS))

# 3 of 3 right: an exact interval on so few answers rules out accuracies below about 0.2
@pytest.mark.assert_within_budget(min_accuracy=0.1)
def test_eval_set(llm_candidate):
    result = llm_candidate.generate(load_eval(PATH), max_new_tokens=8)
    assert [sample.question_id for sample in result.samples] == [f"q{{n}}" for n in (2, 3, 5)]
"""


def test_an_eval_set_is_scored_and_reported_by_question_id(pytester, checkpoints):
    pytester.makepyfile(test_evals=EVAL_TEST)
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 1\nwarmup = 0\n")
    result = run(
        pytester,
        f"--llm-candidate={checkpoints['baseline']}",
        "--llm-eval-limit=3",  # a seeded 3 of the 6 questions: q2, q3, q5 with seed 0
        "--llm-report=report.json",
    )
    result.assert_outcomes(passed=1)
    assert summary_verdicts(result)[("test_evals.py::test_eval_set", "min_accuracy")] == "pass"
    report = json.loads((pytester.path / "report.json").read_text())
    (record,) = report["tests"]
    figures = record["candidate"]["figures"]
    assert figures["accuracy"] == 1.0  # the baseline answers its training questions
    assert [question["id"] for question in figures["questions"]] == ["q2", "q3", "q5"]
    assert all(question["score"] == 1.0 for question in figures["questions"])
    assert report["settings"]["eval_limit"] == 3
    assert record["wrong_answers"] == []


BAD_AT_IMPORT = """
from pytest_llmperf import load_eval

EVALS = load_eval("broken.jsonl")

def test_never_collected():
    pass
"""

BAD_IN_BODY = """
from pytest_llmperf import load_eval

def test_reads_a_bad_file():
    load_eval("broken.jsonl", limit=0)
"""


def test_a_bad_eval_file_is_a_clear_error_without_traceback(pytester):
    (pytester.path / "broken.jsonl").write_text('{"prompt": "Q: hi A:", "expected": "hi"}\n{oops\n')
    pytester.makepyfile(test_import=BAD_AT_IMPORT, test_body=BAD_IN_BODY)
    result = run(pytester, "--continue-on-collection-errors")
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_import.py: eval set broken.jsonl, line 2: not valid JSON*",
            "*limit=0 is not a positive whole number*",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "pytest_llmperf/" not in output
    assert "EVALS = load_eval" not in output  # not even the test module's own frame
