"""End to end: the three commands of the mission on tiny checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin.helpers import (
    BUDGET_TEST,
    PRICES,
    PROMPTS,
    agreed_verdicts,
    run,
    summary_verdicts,
)

TEST = "test_budget.py::test_answers"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(test_budget=BUDGET_TEST)
    return pytester


def live(
    project: pytest.Pytester, checkpoints: dict[str, Path], candidate: str
) -> pytest.RunResult:
    return run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints[candidate]}",
    )


def test_exact_copy_passes_every_budget(project, checkpoints):
    result = live(project, checkpoints, "copy")
    result.assert_outcomes(passed=2)
    verdicts = summary_verdicts(result)
    assert set(verdicts.values()) == {"pass"}
    assert len(verdicts) == 5


def test_verbose_candidate_fails_tokens_and_cost(project, checkpoints):
    result = live(project, checkpoints, "verbose")
    result.assert_outcomes(failed=1, passed=1)
    verdicts = summary_verdicts(result)
    assert verdicts[(TEST, "tokens_ratio")] == "FAIL"
    assert verdicts[(TEST, "cost_ratio")] == "FAIL"
    result.stdout.fnmatch_lines(["*remedy for tokens_ratio*fewer epochs*max_new_tokens*"])


def test_slow_candidate_fails_latency_passes_tokens(project, checkpoints):
    result = live(project, checkpoints, "slow")
    result.assert_outcomes(failed=1, passed=1)
    verdicts = summary_verdicts(result)
    assert verdicts[(TEST, "latency_ratio")] == "FAIL"
    assert verdicts[(TEST, "tokens_ratio")] == "pass"
    assert verdicts[(TEST, "cost_ratio")] == "pass"
    # The counted FLOPs tell a bigger model from the same model run less well.
    result.stdout.fnmatch_lines(
        ["*remedy for latency_ratio*more compute per token: the model grew*"]
    )


def test_failure_shows_baseline_candidate_budget_verdict(project, checkpoints):
    result = live(project, checkpoints, "verbose")
    # The test that loaded the models captured no library progress bars.
    assert "Loading weights" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*assert_within_budget: * of 5 limits over budget (natural mode: *)",
            f"*candidate: {checkpoints['verbose']}",
            "*baseline:  --llm-baseline=*alternating pairs",
            "*limit*baseline*candidate*budget*verdict",
            "*latency_ratio*ms*ms*<= 1.5x*FAIL *x [[]*, *]",
            "*tokens_ratio*tok*tok*<= 1x*FAIL *x",
            "*latency_ratio: *x, the median of * per-pair ratios (both models run alternately); *% interval [[]*] (widened by *% each side for where each model's weights lie in memory, placed afresh every pass); noise (CV) baseline *%, candidate *%; decided by the interval",
        ]
    )


def test_update_then_judge_matches_live_verdicts(project, checkpoints):
    """Two candidates in each run (the baseline loads once): judged live, then against the
    snapshot the baseline recorded, with the same verdicts."""
    candidates = [f"--llm-candidate={name}={checkpoints[name]}" for name in ("verbose", "slow")]
    live_verdicts = summary_verdicts(
        run(project, f"--llm-baseline={checkpoints['baseline']}", *candidates)
    )
    assert {test for test, _ in live_verdicts} == {f"{TEST}[verbose]", f"{TEST}[slow]"}
    assert live_verdicts[(f"{TEST}[verbose]", "tokens_ratio")] == "FAIL"
    assert live_verdicts[(f"{TEST}[slow]", "latency_ratio")] == "FAIL"
    update = run(project, f"--llm-baseline={checkpoints['baseline']}", "--llm-update")
    update.assert_outcomes(passed=2)
    update.stdout.fnmatch_lines(["1 snapshot written. (.llmperf)"])
    snapshot = project.path / ".llmperf" / "test_budget" / "test_answers.json"
    assert snapshot.is_file()
    judged = run(project, *candidates, "--llm-report=judged.json")
    judged.stdout.fnmatch_lines(["*baseline:  snapshot*test_answers.json*"])
    assert agreed_verdicts(summary_verdicts(judged)) == agreed_verdicts(live_verdicts)
    # Confirmed live, each ratio is judged once, on the session's whole share: the live
    # verdict replaces the snapshot's, so the two are not split.
    for record in json.loads((project.path / "judged.json").read_text())["tests"]:
        (latency,) = [v for v in record["verdicts"] if v["limit"] == "latency_ratio"]
        assert latency["interval"]["sampling"] == "pairs"
        assert latency["interval"]["confidence_split"]["false_failure_rate"] == 0.05


def test_update_with_live_candidate_writes_baseline_snapshot(project, checkpoints):
    result = run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-update",
    )
    result.assert_outcomes(failed=1, passed=1)
    text = (project.path / ".llmperf" / "test_budget" / "test_answers.json").read_text()
    assert str(checkpoints["baseline"]) in text
    assert str(checkpoints["verbose"]) not in text


def test_plain_pytest_skips_model_tests_and_runs_the_rest(project):
    result = run(project, "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*needs --llm-candidate=MODEL*"])


def test_baseline_fixture_skips_without_its_option(pytester, checkpoints):
    pytester.makepyfile("def test_b(llm_baseline):\n    llm_baseline.generate('Q: hi A:')\n")
    result = run(pytester, "-rs", f"--llm-candidate={checkpoints['copy']}")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs --llm-baseline=MODEL*"])


def test_own_baseline_calls_are_the_baseline(pytester, checkpoints):
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.assert_within_budget(tokens_ratio=1.0)
        def test_both(llm_baseline, llm_candidate):
            prompts = ["Q: What is two plus two? A:"]
            llm_baseline.generate(prompts)
            llm_candidate.generate(prompts)
        """
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*baseline:  the test's llm_baseline calls*"])


def test_generation_config_of_checkpoint_cannot_switch_to_sampling(pytester, checkpoints):
    """A candidate whose generation_config.json samples hot is still decoded greedily."""
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.assert_within_budget(tokens_ratio=1.0)
        def test_same(llm_baseline, llm_candidate):
            prompts = {PROMPTS!r}
            assert llm_candidate.generate(prompts).texts == llm_baseline.generate(prompts).texts
        """
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['sampling']}",
    )
    result.assert_outcomes(passed=1)


def test_result_object_figures(pytester, checkpoints):
    pytester.makepyfile(
        """
        def test_figures(llm_candidate):
            result = llm_candidate.generate("Q: What is two plus two? A:", max_new_tokens=8)
            assert len(result.samples) == 1 and len(result.samples[0].runs) == 2
            assert result.text.strip() == "Four."
            assert result.output_tokens == 3 and result.input_tokens > 3
            assert 0 < result.ttft_ms <= result.latency_ms <= result.p95_latency_ms
            assert result.tpot_ms > 0 and result.tokens_per_s > 0
            assert result.peak_memory_mb > 0
            assert result.max_new_tokens_hit_rate == 0
        """
    )
    result = run(pytester, f"--llm-candidate={checkpoints['baseline']}", "--llm-repeats=2")
    result.assert_outcomes(passed=1)


FIXED_LENGTH_TEST = f"""
import pytest

@pytest.mark.assert_within_budget(MODE_ARG latency_ratio=1.5, tokens_ratio=1.0)
def test_per_token(llm_candidate):
    result = llm_candidate.generate({PROMPTS!r}, max_new_tokens=24)
    assert result.output_tokens == EXPECTED_TOKENS
"""


@pytest.mark.parametrize("where", ["marker", "command line"])
def test_fixed_length_mode_judges_latency_per_token_not_verbosity(pytester, checkpoints, where):
    """The verbose fine-tune is as fast per token as its baseline: only natural mode fails it."""
    marker_mode = 'mode="fixed_length",' if where == "marker" else ""
    pytester.makepyfile(
        test_mode=FIXED_LENGTH_TEST.replace("MODE_ARG", marker_mode).replace(
            "EXPECTED_TOKENS", "24"
        )
    )
    options = ["--llm-mode=fixed_length"] if where == "command line" else []
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        *options,
    )
    result.assert_outcomes(passed=1)
    verdicts = summary_verdicts(result)
    assert verdicts[("test_mode.py::test_per_token", "latency_ratio")] == "pass"
    assert verdicts[("test_mode.py::test_per_token", "tokens_ratio")] == "not compared"
    result.stdout.fnmatch_lines(["*test_mode.py::test_per_token*fixed_length*latency_ratio*"])


def test_natural_mode_fails_the_verbose_candidate_on_latency(pytester, checkpoints):
    pytester.makepyfile(
        test_mode=FIXED_LENGTH_TEST.replace("MODE_ARG", "").replace("== EXPECTED_TOKENS", "> 10")
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
    )
    verdicts = summary_verdicts(result)
    assert verdicts[("test_mode.py::test_per_token", "latency_ratio")] == "FAIL"
    assert verdicts[("test_mode.py::test_per_token", "tokens_ratio")] == "FAIL"
    result.stdout.fnmatch_lines(
        ["*tokens_ratio: answers reached max_new_tokens (candidate in *%, baseline in 0% of runs)*"]
    )


def test_false_failure_rate_is_shared_by_the_tests_that_run(pytester, checkpoints):
    """Two selected timing decisions, one look each: each interval leaves 0.05 / 2 in a tail."""
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.assert_within_budget(latency_ratio=1.5)
        def test_one(llm_candidate):
            llm_candidate.generate({PROMPTS!r})

        @pytest.mark.assert_within_budget(latency_ratio=1.5)
        def test_two(llm_candidate):
            llm_candidate.generate({PROMPTS!r})

        @pytest.mark.assert_within_budget(latency_ratio=1.5, ttft_ratio=1.5)
        def test_deselected(llm_candidate):
            llm_candidate.generate({PROMPTS!r})
        """
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['slow']}",
        "--llm-repeats=2",
        "--llm-max-pairs=12",  # 6 prompts x 2 repeats: the first look is the only one
        "-k",
        "not deselected",
    )
    result.assert_outcomes(failed=2, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*latency_ratio: *x, the median of 12 per-pair ratios*; 95.00% interval [[]*]*",
            "*95.00%: the session's 5% chance of failing a good candidate, shared by 2 decisions",
        ]
        * 2
    )
