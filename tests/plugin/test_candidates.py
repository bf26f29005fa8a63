"""Several candidates in one run: every test judged per candidate, against one baseline."""

from __future__ import annotations

import json
import os

import pytest

from tests.plugin.helpers import BUDGET_TEST, PRICES, run

TEST = "test_budget.py::test_answers"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(test_budget=BUDGET_TEST)
    return pytester


def report_records(project: pytest.Pytester) -> dict[str, dict]:
    report = json.loads((project.path / "report.json").read_text())
    return {record["test"]: record for record in report["tests"]}


def test_every_test_is_judged_per_candidate_with_ids_naming_them(project, checkpoints):
    result = run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate=same={checkpoints['copy']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-report=report.json",
        "--llm-markdown=report.md",
        "--llm-plots=plots",
        "--llm-history=history",
        # Only a candidate whose p95 SLA passed is recommended, and a p95 bound needs a few
        # hundred runs at the session's confidence: the default cap, not the suite's.
        "--llm-max-seconds=60",
    )
    result.assert_outcomes(passed=2, failed=1)
    records = report_records(project)
    assert set(records) == {f"{TEST}[same]", f"{TEST}[verbose]"}
    # The session ends with the tool's recommendation, in every output.
    result.stdout.fnmatch_lines(["*candidates ranked (2)*", "*recommended: same (of those*"])
    ranking = json.loads((project.path / "report.json").read_text())["ranking"]
    assert ranking["best"] == "same"
    verbose = next(row for row in ranking["candidates"] if row["candidate"] == "verbose")
    assert verbose["limits"]["tokens_ratio"] == "FAIL" and not verbose["passes_every_limit"]
    assert "recommended: same" in (project.path / "report.md").read_text()
    assert (project.path / "plots" / "ranking.png").stat().st_size > 0
    assert "ranking.png" in (project.path / "plots" / "index.html").read_text()
    (entry,) = (project.path / "history").glob("*.json")
    assert json.loads(entry.read_text())["ranking"]["best"] == "same"
    assert records[f"{TEST}[same]"]["candidate"]["id"] == "same"
    assert not records[f"{TEST}[same]"]["failed"]
    assert records[f"{TEST}[verbose]"]["failed"]


def test_a_live_baseline_runs_once_for_every_candidate(project, checkpoints):
    """The baseline's runs are shared: each candidate's record holds the same runs (a
    candidate judged after another settled holds those extra rounds after them)."""
    run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate=same={checkpoints['copy']}",
        f"--llm-candidate=again={checkpoints['copy']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-report=report.json",
        "--llm-max-seconds=60",  # the rounds each candidate adds are compared, none cut short
    )
    records = report_records(project)
    baselines = [
        records[f"{TEST}[{name}]"]["baseline"]["figures"] for name in ("same", "again", "verbose")
    ]
    first = baselines[0]["latencies_ms"]
    for later in baselines[1:]:
        assert later["latencies_ms"][: len(first)] == first
    for name, baseline in zip(("same", "again", "verbose"), baselines, strict=True):
        candidate = records[f"{TEST}[{name}]"]["candidate"]["figures"]
        assert candidate["runs"] == baseline["runs"], "each run of the baseline pairs one of each"


def test_candidates_are_judged_against_the_one_snapshot(project, checkpoints):
    run(project, f"--llm-baseline={checkpoints['baseline']}", "--llm-update").assert_outcomes(
        passed=2
    )
    result = run(
        project,
        f"--llm-candidate=same={checkpoints['copy']}",
        f"--llm-candidate=long={checkpoints['verbose']}",
        "--llm-report=report.json",
    )
    result.assert_outcomes(passed=2, failed=1)
    records = report_records(project)
    for name in ("same", "long"):
        assert "snapshot" in records[f"{TEST}[{name}]"]["baseline"]["source"]
    assert "unused" not in result.stdout.str()
    assert [path.name for path in (project.path / ".llmperf").rglob("*.json")] == [
        "test_answers.json"
    ]


def test_a_glob_judges_every_checkpoint_in_step_order(project, checkpoints, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for step in (1000, 500, 1500):
        os.symlink(checkpoints["copy"], run_dir / f"checkpoint-{step}")
    result = run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidates={run_dir}/checkpoint-*",
        "--collect-only",
        "-q",
    )
    ids = [line for line in result.outlines if line.startswith(TEST)]
    assert ids == [f"{TEST}[checkpoint-{step}]" for step in (500, 1000, 1500)]


def test_candidates_listed_in_pyproject(pytester, checkpoints):
    pytester.makepyprojecttoml(
        f"[tool.llmperf]\ncandidates = ['a={checkpoints['copy']}', 'b={checkpoints['copy']}']\n"
    )
    pytester.makepyfile(test_budget=BUDGET_TEST)
    result = run(pytester, "--collect-only", "-q")
    assert [line for line in result.outlines if line.startswith(TEST)] == [
        f"{TEST}[a]",
        f"{TEST}[b]",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llm-candidate={copy}", "--llm-candidate={copy}"], "two candidates are named copy"),
        (["--llm-candidates={nowhere}/checkpoint-*"], "matched no directory"),
        (["--llm-candidate=my model={copy}"], 'candidate name "my model" is not a safe name'),
        (["--llm-candidate=" + "n" * 10_000 + "={copy}"], "is not a safe name"),
    ],
)
def test_bad_candidates_are_one_clear_error(project, checkpoints, tmp_path, args, message):
    paths = {"copy": checkpoints["copy"], "nowhere": tmp_path / "nowhere"}
    result = run(project, *(arg.format(**paths) for arg in args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().count(message) == 1
    assert "Traceback" not in result.stderr.str()


def test_one_candidate_keeps_its_test_ids(project, checkpoints):
    result = run(project, f"--llm-candidate=named={checkpoints['copy']}", "--collect-only", "-q")
    assert f"{TEST}" in result.outlines


def test_the_candidate_is_the_last_part_of_a_parametrized_tests_id(pytester, checkpoints):
    pytester.makepyfile(
        test_p="""
import pytest

@pytest.mark.parametrize("size", [1, 2])
def test_p(llm_candidate, size):
    pass
"""
    )
    result = run(
        pytester,
        f"--llm-candidate=a={checkpoints['copy']}",
        f"--llm-candidate=b={checkpoints['copy']}",
        "--collect-only",
        "-q",
    )
    ids = [line for line in result.outlines if line.startswith("test_p.py")]
    # Each candidate's tests together, so that one candidate at a time is loaded.
    assert ids == [f"test_p.py::test_p[{n}-{c}]" for c in "ab" for n in (1, 2)]
