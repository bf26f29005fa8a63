"""Accuracy beside speed, prices per model, monthly cost, and default budgets from config."""

from __future__ import annotations

import json

import pytest

from tests.models.tiny import QUESTIONS, SHORT_ANSWERS
from tests.plugin.helpers import PROMPTS, run, summary_verdicts

ANSWERS = list(SHORT_ANSWERS)  # "Paris." as the baseline answers it
WORDS = [answer.rstrip(".") for answer in SHORT_ANSWERS]  # "Paris", found in a long answer

QUALITY_TEST = f"""
import pytest

@pytest.mark.assert_within_budget(min_accuracy=0.8, accuracy_drop=0.05, tokens_ratio=20)
def test_quality(llm_candidate):
    result = llm_candidate.generate({PROMPTS!r}, expected=EXPECTED, scorer=SCORER,
                                    max_new_tokens=48)
    assert result.accuracy is not None
"""
assert len(QUESTIONS) == len(ANSWERS)


@pytest.mark.parametrize(
    ("scorer", "verbose_accuracy"),
    [
        ('"exact"', "0.000"),
        ('"contains"', "1.000"),
        ("lambda answer, expected: len(answer) < 20", "0.000"),
    ],
)
def test_accuracy_is_judged_beside_speed(pytester, checkpoints, scorer, verbose_accuracy):
    """Each scorer, judged on the accuracies as measured (--llm-accuracy-test=exact): six
    questions are too few for the paired interval to pass a 5-point margin (next test)."""
    expected = ANSWERS if scorer == '"exact"' else WORDS
    pytester.makepyfile(
        test_quality=QUALITY_TEST.replace("SCORER", scorer).replace("EXPECTED", repr(expected))
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-accuracy-test=exact",
    )
    verdicts = summary_verdicts(result)
    expected = "pass" if verbose_accuracy == "1.000" else "FAIL"
    assert verdicts[("test_quality.py::test_quality", "min_accuracy")] == expected
    assert verdicts[("test_quality.py::test_quality", "accuracy_drop")] == expected
    if expected == "FAIL":  # which answers were wrong, with the baseline's beside them
        result.stdout.fnmatch_lines(
            [
                "*wrong answers: * of * prompts*",
                '*1. prompt:    "Q: *',
                '*expected:  "*"',
                '*candidate: "*"',
                '*baseline:  "*" (*)',
            ]
        )
    result.stdout.fnmatch_lines(
        [
            "*baseline and candidate side by side*",
            f"*test_quality.py::test_quality*accuracy*1.000*{verbose_accuracy}*",
            "*test_quality.py::test_quality*output tokens*tok*tok*",
        ]
    )


PAIRED_TEST = f"""
import pytest

@pytest.mark.assert_within_budget(accuracy_drop=0.5, min_accuracy=0.5)
def test_paired(llm_candidate):
    llm_candidate.generate({PROMPTS!r}, expected={WORDS!r}, max_new_tokens=16)
"""


def test_accuracy_drop_is_judged_on_answers_paired_by_question(pytester, checkpoints):
    """The copy answers every question as the baseline does: no answer changed, and six
    questions bound a drop to under 0.5 (not to 0.05: the interval says so)."""
    pytester.makepyfile(test_paired=PAIRED_TEST)
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['copy']}",
        "--llm-report=report.json",
    )
    result.assert_outcomes(passed=1)
    verdicts = summary_verdicts(result)
    assert verdicts[("test_paired.py::test_paired", "accuracy_drop")] == "pass"
    record = json.loads((pytester.path / "report.json").read_text())["tests"][0]
    (drop,) = [v for v in record["verdicts"] if v["limit"] == "accuracy_drop"]
    assert drop["quality"]["questions"] == len(PROMPTS)
    assert drop["quality"]["paired"] is True
    assert (drop["quality"]["right_to_wrong"], drop["quality"]["wrong_to_right"]) == (0, 0)
    assert drop["quality"]["method"] == "Tango's score interval"
    assert drop["interval"]["low"] < 0 < drop["interval"]["high"] < 0.5
    assert drop["note"].startswith(f"accuracy 1.000 -> 1.000 on {len(PROMPTS)} questions: 0 ")
    assert record["changed_answers"] == []
    assert record["verdicts"][1]["quality"]["method"] == "Clopper-Pearson"


def test_unknown_scorer_fails_the_call_with_the_valid_ones(pytester, checkpoints):
    pytester.makepyfile(
        "def test_s(llm_candidate):\n"
        "    llm_candidate.generate('Q: hi A:', expected='x', scorer='fuzzy')\n"
    )
    result = run(pytester, f"--llm-candidate={checkpoints['baseline']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*scorer='fuzzy' is not a scorer. Give one of contains, exact*"])


PRICED = """
[tool.llmperf]
repeats = 2
price_input_per_1m = 1.0
price_output_per_1m = 2.0
candidate_price_output_per_1m = 6.0
requests_per_month = 1000000

[tool.llmperf.budget]
tokens_ratio = 1.0
cost_ratio = 1.1
latency_ratio = 50
accuracy_drop = 0.0
"""


def test_a_pricier_candidate_fails_cost_with_tokens_flat_and_shows_the_monthly_bill(
    pytester, checkpoints
):
    pytester.makepyprojecttoml(PRICED)
    pytester.makepyfile(
        test_defaults=f"""
        import pytest

        @pytest.mark.assert_within_budget
        def test_defaults(llm_candidate):
            llm_candidate.generate({PROMPTS!r})

        @pytest.mark.assert_within_budget(cost_ratio=10, accuracy_drop=None)
        def test_override(llm_candidate):
            llm_candidate.generate({PROMPTS!r})
        """
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['copy']}",
    )
    result.assert_outcomes(failed=1, passed=1)
    verdicts = summary_verdicts(result)
    assert verdicts[("test_defaults.py::test_defaults", "tokens_ratio")] == "pass"
    assert verdicts[("test_defaults.py::test_defaults", "cost_ratio")] == "FAIL"
    assert verdicts[("test_defaults.py::test_override", "cost_ratio")] == "pass"
    assert ("test_defaults.py::test_override", "latency_ratio") in verdicts  # default kept
    # A default accuracy limit on a test without expected answers: not compared, not failed;
    # a marker drops it with None.
    assert verdicts[("test_defaults.py::test_defaults", "accuracy_drop")] == "not compared"
    assert ("test_defaults.py::test_override", "accuracy_drop") not in verdicts
    result.stdout.fnmatch_lines(["*accuracy_drop: a default limit from [[]tool.llmperf.budget]*"])
    # The copy's tokens are the baseline's: the remedy names the price, not verbosity.
    result.stdout.fnmatch_lines(
        ["*remedy for cost_ratio: its price per token is higher ($6 vs $2 per 1M output tokens)*"]
    )
    assert "greater length" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*cost/month (1,000,000 requests)*$17.00*$30.33*+78%*"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "[tool.llmperf.budget]\nlatency_ms = -4\n",
            "*[[]tool.llmperf.budget]: limit latency_ms=-4 must be greater than 0.*",
        ),
        (
            "[tool.llmperf.budget]\nlatancy_ms = 4\n",
            "*[[]tool.llmperf.budget]: unknown limit 'latancy_ms'*Did you mean 'latency_ms'?*",
        ),
        ("[tool.llmperf]\nbudget = 3\n", "*[[]tool.llmperf.budget] must be a table of limits*"),
    ],
)
def test_bad_default_budget_is_a_usage_error(pytester, table, message):
    pytester.makepyprojecttoml(table)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
