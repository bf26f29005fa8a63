"""Under pytest-xdist: workers judge, the controller merges their records into one summary
and one set of reports, with the verdicts of a serial run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.plugin.helpers import (
    PRICES,
    PROMPTS,
    SLA_LIMITS,
    agreed_verdicts,
    run,
    run_xdist,
    summary_verdicts,
)

# Token and cost limits are exact (greedy decoding), so both runs must agree to the letter;
# the generous latency SLA passes in both.
XDIST_TEST = f"""
import pytest

PROMPTS = {PROMPTS!r}

@pytest.mark.assert_within_budget(tokens_ratio=1.0, cost_ratio=1.0)
def test_tight(llm_candidate):
    llm_candidate.generate(PROMPTS[:2], max_new_tokens=48)

@pytest.mark.assert_within_budget(tokens_ratio=20, output_tokens=100, latency_ms=600000)
def test_generous(llm_candidate):
    llm_candidate.generate(PROMPTS[2:4], max_new_tokens=48)

@pytest.mark.assert_within_budget(output_tokens=8)
def test_short(llm_candidate):
    llm_candidate.generate(PROMPTS[4:], max_new_tokens=48)

@pytest.mark.assert_within_budget(cost_ratio=50, latency_ms=600000)
def test_cost(llm_candidate):
    llm_candidate.generate(PROMPTS[:1], max_new_tokens=48)

def test_not_about_models():
    assert True
"""
TESTS = [
    f"test_many.py::{name}" for name in ("test_tight", "test_generous", "test_short", "test_cost")
]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(test_many=XDIST_TEST)
    return pytester


def test_xdist_run_merges_every_workers_verdicts_into_one_report(project, checkpoints):
    models = [
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-repeats=2",
        "--llm-max-seconds=1",  # the far-off SLAs may stay open: only their merging matters
    ]
    serial = run(project, *models)
    serial.assert_outcomes(passed=3, failed=2)
    expected = summary_verdicts(serial)
    assert {test for test, _ in expected} == set(TESTS)
    assert expected[(TESTS[0], "tokens_ratio")] == "FAIL"
    assert expected[(TESTS[1], "tokens_ratio")] == "pass"

    parallel = run_xdist(
        project,
        *models,
        "--llm-report=reports/llmperf.json",
        "--llm-markdown=reports/llmperf.md",
        "--junitxml=reports/junit.xml",
        "--llm-plots=reports/plots",
        "--llm-benchmark-json=reports/store/",
    )
    parallel.assert_outcomes(passed=3, failed=2)
    reports = project.path / "reports"
    (stored,) = (reports / "store").rglob("*.json")
    parallel.stdout.fnmatch_lines(
        [
            "*created: 2/2 workers*",
            "4 tests judged, 2 over budget",
            f"plots written to {reports / 'plots'} (6 files, open index.html)",
            f"pytest-benchmark JSON written to {stored} (8 benchmarks)*",
        ]
    )
    assert agreed_verdicts(summary_verdicts(parallel)) == agreed_verdicts(expected)
    # The controller writes every worker's tests, once.
    for written in ("JSON report written to", "plots written to", "pytest-benchmark JSON"):
        assert parallel.stdout.str().count(written) == 1, written
    page = (reports / "plots" / "index.html").read_text()
    assert all(test in page for test in TESTS) and "test_not_about_models" not in page
    benchmarks = json.loads(stored.read_text())["benchmarks"]
    assert sorted({b["group"] for b in benchmarks}) == sorted(TESTS)

    report = json.loads((reports / "llmperf.json").read_text())
    assert sorted(record["test"] for record in report["tests"]) == sorted(TESTS)  # once each
    assert report["summary"]["judged"] == 4 and report["summary"]["failed"] == 2
    assert report["environment"]["hardware"]["device_type"] == "cpu"  # sent by a worker
    for record in report["tests"]:
        for verdict in record["verdicts"]:
            if verdict["limit"] not in SLA_LIMITS:  # may differ between runs (helpers.py)
                assert verdict["outcome"] == expected[(record["test"], verdict["limit"])]

    markdown = (reports / "llmperf.md").read_text()
    assert markdown.startswith("## ❌ pytest-llmperf: 2 of 4 tests over budget")
    assert {test for test in TESTS if f"| `{test}` | " in markdown} == set(TESTS)

    cases = ET.parse(reports / "junit.xml").iter("testcase")
    verdict_props = {
        case.get("name"): {
            p.get("name"): p.get("value")
            for p in case.iter("property")
            if p.get("name").startswith("llmperf.verdict.")
        }
        for case in cases
    }
    assert verdict_props["test_tight"] == {
        "llmperf.verdict.tokens_ratio": "FAIL",
        "llmperf.verdict.cost_ratio": "FAIL",
    }
    assert verdict_props["test_not_about_models"] == {}


def test_plugin_loads_and_reports_without_xdist(project):
    result = run(project, "-p", "no:xdist", "--llm-report=r.json")
    result.assert_outcomes(passed=1, skipped=4)
    assert json.loads(Path(project.path / "r.json").read_text())["tests"] == []
