"""The example project as its README runs it: record the baseline, judge each candidate.

run.sh also judges `large-int8`, with the example's own caps; this test leaves it out: on a
CPU it is the slowest candidate by far (a third of the run), and its figures and remedy are
tested on their own (tests/plugin/test_figures.py, tests/unit/test_figures.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from example_project.qa_models import build_all
from tests.plugin.helpers import run, summary_verdicts

EXAMPLE = Path(__file__).parent.parent / "example_project"
TEST = "tests/test_support_bot.py::test_answers_right_fast_and_short"
PER_TOKEN = "tests/test_support_bot.py::test_speed_per_token"
CHAT = "tests/test_support_bot.py::test_chat_answers"
CANDIDATES = ("short", "verbose", "large")
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
    for name in ("pyproject.toml", "qa_models.py", "tiny_gpt2.py"):
        shutil.copy(EXAMPLE / name, pytester.path / name)
    shutil.copytree(EXAMPLE / "tests", pytester.path / "tests")
    (pytester.path / "checkpoints").symlink_to(qa_checkpoints)
    record = run(pytester, *QUICK, "--llm-baseline=checkpoints/baseline", "--llm-update")
    record.assert_outcomes(passed=3)
    return pytester


def test_one_run_judges_every_candidate_and_recommends_the_short_fine_tune(example):
    """run.sh's judging step: one pytest run over every candidate against the snapshots."""
    candidates = [f"--llm-candidate=checkpoints/{c}" for c in CANDIDATES]
    result = run(example, *QUICK, *candidates)
    verdicts = summary_verdicts(result)

    def of(test: str, candidate: str, limit: str) -> str:
        return verdicts[(f"{test}[{candidate}]", limit)]

    # The verbose fine-tune: as accurate, longer answers, so tokens and cost fail.
    assert of(TEST, "verbose", "tokens_ratio") == "FAIL"
    assert of(TEST, "verbose", "cost_ratio") == "FAIL"
    assert of(TEST, "verbose", "accuracy_drop") == "pass"
    assert of(PER_TOKEN, "verbose", "latency_ratio") == "pass"  # as fast per token
    assert of(CHAT, "verbose", "tokens_ratio") == "FAIL"  # as verbose when asked in chat
    assert (f"{CHAT}[verbose]", "accuracy_drop") not in verdicts  # 8 questions: left out
    # The larger model: as brief, several times slower, per request and per token.
    for test in (TEST, PER_TOKEN, CHAT):
        assert of(test, "large", "latency_ratio") == "FAIL"
    assert of(TEST, "large", "tokens_ratio") == "pass"
    assert of(TEST, "large", "accuracy_drop") == "pass"
    # The short fine-tune fails no limit; on a busy machine its SLA may stay inconclusive.
    assert all(
        outcome != "FAIL" for (test, _), outcome in verdicts.items() if test.endswith("[short]")
    )
    lines = [line for line in result.outlines if "recommended: " in line]
    inconclusive = "inconclusive (?): short: more runs or a quieter machine would settle them"
    assert (lines and "recommended: short (" in lines[0]) or any(
        line.endswith(inconclusive) for line in result.outlines
    ), lines
