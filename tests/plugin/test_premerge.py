"""The pre-merge flow end to end: record the baseline in one pytest run, judge a candidate
in a later one, as CI does (each run loads its models afresh, as a new process would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin.helpers import PRICES, PROMPTS, run, summary_verdicts

TEST = "test_premerge.py::test_answers"
TIMING_TEST = f"""
import pytest

@pytest.mark.assert_within_budget(latency_ratio=1.10, tokens_ratio=1.0)
def test_answers(llm_candidate):
    llm_candidate.generate({PROMPTS[:3]!r}, max_new_tokens=16)
"""


@pytest.fixture
def recorded(pytester: pytest.Pytester, checkpoints: dict[str, Path]) -> pytest.Pytester:
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(test_premerge=TIMING_TEST)
    run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update").assert_outcomes(
        passed=1
    )
    return pytester


def test_the_snapshot_names_its_baseline_so_a_later_run_can_load_it(recorded, checkpoints):
    snapshot = recorded.path / ".llmperf" / "test_premerge" / "test_answers.json"
    model = json.loads(snapshot.read_text())["model"]
    assert Path(model["location"]) == checkpoints["baseline"].resolve()  # outside the rootdir


def test_an_exact_copy_passes_against_the_snapshot(recorded, checkpoints):
    # The pass is what is asserted: the default cap, not the suite's 5 s, so that a busy
    # machine takes more runs rather than leaving it open (it settles in seconds when quiet).
    result = run(
        recorded, f"--llm-candidate={checkpoints['copy']}", "-W", "error", "--llm-max-seconds=60"
    )
    result.assert_outcomes(passed=1)
    assert summary_verdicts(result)[(TEST, "latency_ratio")] == "pass"


def test_a_slow_candidate_fails_against_the_snapshot(recorded, checkpoints):
    result = run(recorded, f"--llm-candidate={checkpoints['slow']}")
    result.assert_outcomes(failed=1)
    assert summary_verdicts(result)[(TEST, "latency_ratio")] == "FAIL"
    assert summary_verdicts(result)[(TEST, "tokens_ratio")] == "pass"


def test_without_a_live_baseline_a_copy_is_never_failed_on_timing(recorded, checkpoints):
    """Against the snapshot alone, with an allowance as wide as the shifts between
    processes this machine shows (the suite's other xdist worker makes them reach 1.6x), a
    copy cannot be told from a slightly slower model: the verdict passes or stays
    inconclusive, with a warning saying what would settle it, and the test passes."""
    result = run(
        recorded,
        f"--llm-candidate={checkpoints['copy']}",
        "--llm-live-baseline=never",
        "--llm-snapshot-shift=1.0",
    )
    result.assert_outcomes(passed=1)
    verdict = summary_verdicts(result)[(TEST, "latency_ratio")]
    assert verdict in ("pass", "inconclusive")
    if verdict == "inconclusive":
        result.stdout.fnmatch_lines(
            [
                "*LlmPerfInconclusiveWarning: latency_ratio inconclusive*",
                "*1 limit inconclusive: the interval straddles the budget, so the test was not failed",
                "*latency_ratio*what would settle it: alternating pairs with the baseline model*",
            ]
        )


def test_an_sla_pools_the_candidates_runs_of_both_phases(recorded, checkpoints):
    """Judged against the snapshot and confirmed in live pairs, a p95 SLA counts the
    candidate's runs of both: the 60 runs a pass needs, not 60 against the snapshot and
    then the pairs besides."""
    recorded.makepyfile(
        test_premerge=TIMING_TEST.replace(
            "latency_ratio=1.10", "latency_ratio=1.10, latency_ms=60000"
        )
    )
    result = run(
        recorded,
        f"--llm-candidate={checkpoints['copy']}",
        "--llm-max-seconds=60",
        "--llm-report=report.json",
    )
    (record,) = json.loads((recorded.path / "report.json").read_text())["tests"]
    verdicts = {verdict["limit"]: verdict for verdict in record["verdicts"]}
    sla = verdicts["latency_ms"]
    assert sla["outcome"] == "pass", sla["note"]
    first = 3 * 3  # 3 prompts, repeats = 3: the runs against the snapshot
    # It passes at the first look with 60 runs in all (the ratio may take more pairs after).
    assert sla["interval"]["samples"] == 60
    assert record["candidate"]["figures"]["runs"] >= 60 - first
    assert f"on the candidate's 60 runs: {first} measured against the snapshot" in sla["note"]
    assert verdicts["latency_ratio"]["interval"]["sampling"] == "pairs"
    assert summary_verdicts(result)[(TEST, "latency_ms")] == "pass"
