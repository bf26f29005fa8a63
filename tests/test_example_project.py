"""The example project as its README runs it: record the baseline, judge each candidate.

run.sh also judges `large-int8`, with the example's own caps; this test leaves it out: on a
CPU it is the slowest candidate by far (a third of the run), and its figures and remedy are
tested on their own (tests/plugin/test_figures.py, tests/unit/test_figures.py). It judges
`reseed` on the eval set alone (test_catalogue_questions), where its gain is in question."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from example_project.qa_models import build_all
from tests.plugin.helpers import run, summary_verdicts

EXAMPLE = Path(__file__).parent.parent / "example_project"
TEST = "tests/test_support_bot.py::test_answers_right_fast_and_short"
PER_TOKEN = "tests/test_support_bot.py::test_speed_per_token"
CHAT = "tests/test_support_bot.py::test_chat_answers"
CATALOGUE = "tests/test_support_bot.py::test_catalogue_questions"
CANDIDATES = ("short", "reseed", "verbose", "large")
# Two measured runs of each of the 32 questions where the example's own pyproject.toml asks
# for three, and extra runs capped at 1 s a test: the verdicts below are decided in the
# first runs, far from their budgets (4x, 6x); the p95 SLA that would take more stays open,
# which the test allows. This test was a third of the suite's time; run.sh keeps the
# example's own settings.
QUICK = ("--llm-repeats=2", "--llm-max-seconds=1")


@pytest.fixture(scope="module")
def qa_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("qa")
    build_all(root, names=("baseline", *CANDIDATES))
    return root


@pytest.fixture
def example(pytester: pytest.Pytester, qa_checkpoints: Path) -> pytest.Pytester:
    for name in ("pyproject.toml", "qa_models.py", "catalogue.py", "tiny_gpt2.py"):
        shutil.copy(EXAMPLE / name, pytester.path / name)
    for folder in ("tests", "evals"):
        shutil.copytree(EXAMPLE / folder, pytester.path / folder)
    (pytester.path / "checkpoints").symlink_to(qa_checkpoints)
    record = run(pytester, *QUICK, "--llm-baseline=checkpoints/baseline", "--llm-update")
    record.assert_outcomes(passed=4)
    return pytester


def test_one_run_judges_every_candidate_and_recommends_the_short_fine_tune(example):
    """run.sh's judging step: one pytest run over every candidate against the snapshots."""
    candidates = [f"--llm-candidate=checkpoints/{c}" for c in CANDIDATES]
    # reseed is the baseline's size and answers the 32 questions as the baseline does: on
    # the eval set alone it costs a second here, on every test a fifth of this test's time.
    only_eval = [f"--deselect={test}[reseed]" for test in (TEST, PER_TOKEN, CHAT)]
    result = run(example, *QUICK, *candidates, *only_eval, "--llm-report=report.json")
    verdicts = summary_verdicts(result)

    def of(test: str, candidate: str, limit: str) -> str:
        return verdicts[(f"{test}[{candidate}]", limit)]

    # The verbose fine-tune: as accurate, longer answers, so tokens and cost fail.
    assert of(TEST, "verbose", "tokens_ratio") == "FAIL"
    assert of(TEST, "verbose", "cost_ratio") == "FAIL"
    assert of(TEST, "verbose", "accuracy_drop") == "pass"
    # As fast per token: never failed; on 2 passes (QUICK) the allowance for where the
    # weights lie (6.8% a side) may leave it open on a busy machine.
    assert of(PER_TOKEN, "verbose", "latency_ratio") in ("pass", "inconclusive")
    assert of(CHAT, "verbose", "tokens_ratio") == "FAIL"  # as verbose when asked in chat
    for test in (PER_TOKEN, CHAT):  # 8 questions: left out
        assert (f"{test}[verbose]", "accuracy_drop") not in verdicts
    # The larger model: as brief, several times slower, per request and per token.
    for test in (TEST, PER_TOKEN, CHAT):
        assert of(test, "large", "latency_ratio") == "FAIL"
    assert of(TEST, "large", "tokens_ratio") == "pass"
    assert of(TEST, "large", "accuracy_drop") == "pass"
    # On the catalogue's 400 questions the fine-tunes' gain of 9 points is shown; the
    # reseeded one's 2 points (16 answers won, 8 lost) is not, nor is it shown worse.
    for candidate in ("short", "verbose", "large"):
        assert of(CATALOGUE, candidate, "accuracy_gain") == "pass"
    assert of(CATALOGUE, "reseed", "accuracy_gain") == "inconclusive"
    assert of(CATALOGUE, "reseed", "accuracy_drop") == "pass"
    (note,) = [line for line in result.outlines if f"{CATALOGUE}[reseed] accuracy_gain " in line]
    assert "on 400 questions: 8 right->wrong, 16 wrong->right; gain 0.020" in note
    assert "questions would settle a gain this size" in note
    # The short and the reseeded fine-tunes fail no limit; on a busy machine short's SLA
    # may stay inconclusive.
    assert all(
        outcome != "FAIL"
        for (test, _), outcome in verdicts.items()
        if test.endswith(("[short]", "[reseed]"))
    )
    # The ranking tells the two apart: short's accuracy interval lies above reseed's, and
    # reseed is held back by its gain, which only more questions would settle.
    ranked = {
        row["candidate"]: row
        for row in json.loads((example.path / "report.json").read_text())["ranking"]["candidates"]
    }
    assert (
        ranked["short"]["intervals"]["accuracy"][0] > ranked["reseed"]["intervals"]["accuracy"][1]
    )
    assert ranked["reseed"]["inconclusive_on_questions"] == ["accuracy_gain"]
    # short is recommended, unless its SLA stayed open on a busy machine; reseed is held
    # back by its gain alone, which more questions would settle, not more runs.
    (unsure,) = [line for line in result.outlines if "no limit failed, some inconclusive" in line]
    names, settles = unsure.split("inconclusive (?): ")[1].split(": ", 1)
    questions = "more questions, not more runs, would settle"
    assert "reseed" in names.split(", ")
    assert settles.endswith((f"{questions} them", f"{questions} accuracy_gain")), unsure
    lines = [line for line in result.outlines if "recommended: " in line]
    assert (lines and "recommended: short (" in lines[0]) or names == "short, reseed", lines
