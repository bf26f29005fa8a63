"""Multiple choice by likelihood and several sampled answers per question, end to end on the
tiny checkpoints: scorer="loglikelihood" answers an eval set's choices with no generation
(its runs have no output tokens and say so in the report), a prompt without choices is a
clear failure; samples_per_question=3 records every answer in the snapshot and judges the
candidate against it with the answers paired as clusters."""

from __future__ import annotations

import json

from tests.models.tiny import QUESTIONS, SHORT_ANSWERS, prompt_for
from tests.plugin.helpers import run, summary_verdicts

CHOICES = list(dict.fromkeys(SHORT_ANSWERS))
ROWS = [
    {"id": f"q{number}", "prompt": prompt_for(question), "expected": answer, "choices": CHOICES}
    for number, (question, answer) in enumerate(zip(QUESTIONS, SHORT_ANSWERS, strict=True), 1)
]

LIKELIHOOD_TEST = f"""
import json
from pathlib import Path

import pytest
from pytest_llmperf import load_eval

ROWS = {ROWS!r}
PATH = Path(__file__).parent / "choices.jsonl"
PATH.write_text("".join(json.dumps(row) + "\\n" for row in ROWS))

@pytest.mark.assert_within_budget(min_accuracy=0.1, accuracy_drop=0.5, tokens_ratio=1.1)
def test_multiple_choice(llm_candidate):
    result = llm_candidate.generate(load_eval(PATH), scorer="loglikelihood")
    assert result.texts == [row["expected"] for row in ROWS]
    assert result.output_tokens == 0 and result.ttft_ms is None

def test_prompts_without_choices(llm_candidate):
    llm_candidate.generate(["Q: Who wrote Hamlet? A:"], expected=["x"], scorer="loglikelihood")
"""


def test_loglikelihood_ranks_the_choices_without_generating(pytester, checkpoints):
    pytester.makepyfile(test_choices=LIKELIHOOD_TEST)
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 1\nwarmup = 0\n")
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['copy']}",
        "--llm-report=report.json",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*scorer='loglikelihood' ranks each prompt's choices, and prompt 0 has none*"]
    )
    assert "Traceback" not in result.stdout.str()
    verdicts = summary_verdicts(result)
    test = "test_choices.py::test_multiple_choice"
    assert verdicts[(test, "min_accuracy")] == verdicts[(test, "accuracy_drop")] == "pass"
    assert verdicts[(test, "tokens_ratio")] == "not compared"  # no tokens on either side
    (record,) = json.loads((pytester.path / "report.json").read_text())["tests"]
    for side in ("candidate", "baseline"):
        figures = record[side]["figures"]
        assert figures["scorers"] == ["loglikelihood"]
        assert figures["accuracy"] == 1.0 and figures["output_tokens"] == 0.0
        assert figures["ttft_p50_ms"] is None and figures["runs"] == len(ROWS)
        assert figures["latency_p50_ms"] > 0  # the forward pass's


SAMPLED_TEST = f"""
import json
from pathlib import Path

import pytest
from pytest_llmperf import load_eval

ROWS = {ROWS[:3]!r}
PATH = Path(__file__).parent / "evals.jsonl"
PATH.write_text("".join(json.dumps(row) + "\\n" for row in ROWS))

@pytest.mark.assert_within_budget(accuracy_drop=0.5)
def test_sampled(llm_candidate):
    result = llm_candidate.generate(
        load_eval(PATH), samples_per_question=3, do_sample=True, temperature=1.5,
        max_new_tokens=6,
    )
    assert [s.question_id for s in result.samples] == [row["id"] for row in ROWS for _ in "abc"]
"""


def test_sampled_answers_are_kept_in_the_snapshot_and_judged_as_clusters(pytester, checkpoints):
    pytester.makepyfile(test_sampled=SAMPLED_TEST)
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 1\nwarmup = 0\n")
    recorded = run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update")
    recorded.assert_outcomes(passed=1)
    (path,) = (pytester.path / ".llmperf").rglob("*.json")
    (call,) = json.loads(path.read_text())["calls"]
    assert call["generation"]["samples_per_question"] == 3 and call["prompt_count"] == 9
    assert [sample["question_id"] for sample in call["samples"]] == [
        row["id"] for row in ROWS[:3] for _ in range(3)
    ]
    judged = run(pytester, f"--llm-candidate={checkpoints['copy']}", "--llm-report=report.json")
    judged.assert_outcomes(passed=1)
    (record,) = json.loads((pytester.path / "report.json").read_text())["tests"]
    (verdict,) = record["verdicts"]
    assert verdict["quality"]["method"] == "cluster bootstrap"
    assert verdict["quality"]["questions"] == 3 and verdict["quality"]["paired"]
    # The same weights and seeds answer alike: every sample's score is the snapshot's.
    assert record["candidate"]["figures"]["questions"] == record["baseline"]["figures"]["questions"]
    assert verdict["outcome"] == "pass"
