"""Reports for CI, end to end: --llm-report (JSON), --llm-markdown and the GitHub step
summary, and JUnit XML properties."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pytest_llmperf.judge.stats import instance_allowance
from tests.plugin.helpers import BUDGET_TEST, PRICES, PROMPTS, run, summary_verdicts

TEST = "test_budget.py::test_answers"
LIMITS = {"latency_ratio", "tokens_ratio", "cost_ratio", "latency_ms", "memory_mb"}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(test_budget=BUDGET_TEST)
    return pytester


def verbose_run(project: pytest.Pytester, checkpoints: dict[str, Path], *args: str):
    return run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        # Every limit's verdict is asserted, the p95 SLA's pass too: its distribution-free
        # bound needs a few hundred runs, so these runs keep the default cap.
        "--llm-max-seconds=60",
        *args,
    )


def assert_no_traceback(result: pytest.RunResult) -> None:
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "pytest_llmperf/" not in output


# --- JSON ---------------------------------------------------------------------------------


def test_json_report_holds_figures_limits_verdicts_and_environment(project, checkpoints):
    started = datetime.now(timezone.utc).replace(microsecond=0)
    result = verbose_run(project, checkpoints, "--llm-report=reports/ci/llmperf.json")
    result.assert_outcomes(failed=1, passed=1)
    path = project.path / "reports" / "ci" / "llmperf.json"
    result.stdout.fnmatch_lines([f"JSON report written to {path}"])
    assert [p.name for p in path.parent.iterdir()] == ["llmperf.json"]  # no temp file left

    report = json.loads(path.read_text())
    assert report["schema_version"] == 1
    assert report["tool"]["name"] == "pytest-llmperf" and report["tool"]["version"]
    created = datetime.fromisoformat(report["created"])
    assert created.utcoffset() == timedelta(0)
    assert started <= created <= datetime.now(timezone.utc)
    assert report["environment"]["hardware"]["device_type"] == "cpu"
    assert report["environment"]["software"]["torch"]
    settings = report["settings"]
    assert (settings["repeats"], settings["warmup"], settings["seed"]) == (3, 1, 0)
    assert (settings["mode"], settings["latency_statistic"]) == ("natural", "p95")
    assert settings["candidate"] == str(checkpoints["verbose"])
    assert report["summary"]["tests"] == report["summary"]["failed"] == 1

    (record,) = report["tests"]
    assert record["test"] == TEST
    verdicts = {v["limit"]: v for v in record["verdicts"]}
    assert set(verdicts) == LIMITS
    # The report says what the terminal says.
    terminal = summary_verdicts(result)
    assert {limit: v["outcome"] for limit, v in verdicts.items()} == {
        limit: terminal[(TEST, limit)] for limit in LIMITS
    }
    assert verdicts["tokens_ratio"]["outcome"] == "FAIL"
    assert verdicts["tokens_ratio"]["budget"] == 1.0
    candidate, baseline = record["candidate"]["figures"], record["baseline"]["figures"]
    assert candidate["output_tokens"] > 3 * baseline["output_tokens"]
    assert verdicts["tokens_ratio"]["observed"] == pytest.approx(
        candidate["output_tokens"] / baseline["output_tokens"]
    )
    assert len(candidate["latencies_ms"]) == candidate["runs"]
    assert len(baseline["latencies_ms"]) == baseline["runs"]
    # Once only an SLA is open the candidate runs alone: never fewer runs than the baseline.
    assert candidate["runs"] >= baseline["runs"]
    # Live pairs of in-process models: both placed afresh every pass, their ratio widened
    # by the allowance for the passes over the prompts it rests on.
    latency = verdicts["latency_ratio"]["interval"]
    passes = latency["samples"] // len(PROMPTS)
    assert latency["sampling"] == "pairs"
    assert latency["widened_by"] == pytest.approx(instance_allowance(0.03, passes))


def test_paths_resolve_like_dir_cli_from_cwd_pyproject_from_its_folder(project, monkeypatch):
    """No models needed: a session with no judged tests still writes its (empty) reports."""
    project.makepyprojecttoml(PRICES + 'report = "out/llmperf.json"\n')
    (project.path / "sub").mkdir()
    monkeypatch.chdir(project.path / "sub")
    result = run(project, "--llm-markdown=pr.md", str(project.path / "test_budget.py"))
    result.assert_outcomes(passed=1, skipped=1)
    report = json.loads((project.path / "out" / "llmperf.json").read_text())
    assert report["tests"] == [] and report["summary"]["tests"] == 0
    assert report["environment"] is None  # no model was loaded
    markdown = (project.path / "sub" / "pr.md").read_text()
    assert markdown.startswith("## pytest-llmperf: no tests judged")


def test_collect_only_writes_no_report(project):
    result = run(project, "--collect-only", "--llm-report=r.json")
    assert result.ret == pytest.ExitCode.OK
    assert not (project.path / "r.json").exists()


# --- Markdown and the GitHub step summary ---------------------------------------------------


def test_markdown_report_and_step_summary(project, checkpoints, monkeypatch):
    step_summary = project.path / "step_summary.md"
    step_summary.write_text("## Unit tests\n\nall green\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    result = verbose_run(project, checkpoints, "--llm-markdown=pr.md")
    result.stdout.fnmatch_lines(
        [
            f"Markdown report written to {project.path / 'pr.md'}",
            "Markdown summary appended to $GITHUB_STEP_SUMMARY",
        ]
    )
    text = (project.path / "pr.md").read_text()
    lines = text.splitlines()
    assert lines[0] == "## ❌ pytest-llmperf: 1 of 1 test over budget"
    start = lines.index(
        "| test | limit (metric) | baseline | candidate | change | budget | verdict |"
    )
    rows = lines[start + 2 : lines.index("", start)]
    assert len(rows) == len(LIMITS)
    assert all(row.startswith(f"| `{TEST}` | ") for row in rows)
    verdicts = ["FAIL" if "❌ **FAIL**" in row else "pass" for row in rows]
    assert verdicts == sorted(verdicts)  # failures first ("FAIL" < "pass")
    (tokens,) = [row for row in rows if "| tokens_ratio (output_tokens) |" in row]
    assert "% | <= 1x | ❌ **FAIL** " in tokens
    assert any("latency_ms (latency)" in row and "✅ pass" in row for row in rows)
    assert "<details><summary>Figures side by side</summary>" in lines
    assert any(line.startswith(f"- `{TEST}` **tokens_ratio, cost_ratio**: ") for line in lines)
    # Appended after what the other step wrote, the same text.
    assert step_summary.read_text() == "## Unit tests\n\nall green\n\n" + text


def test_step_summary_is_left_alone_when_nothing_was_judged(project, monkeypatch):
    step_summary = project.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    result = run(project)
    result.assert_outcomes(passed=1, skipped=1)
    assert not step_summary.exists()
    assert "= llmperf =" not in result.stdout.str()


# --- JUnit XML ----------------------------------------------------------------------------


def test_junit_xml_carries_figures_and_verdicts_as_properties(project, checkpoints):
    result = verbose_run(project, checkpoints, "--junitxml=out.xml")
    assert "warnings summary" not in result.stdout.str()  # the default xunit2 family is fine
    cases = {case.get("name"): case for case in ET.parse(project.path / "out.xml").iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_answers"].iter("property")}
    assert props["llmperf.verdict.tokens_ratio"] == "FAIL"
    assert props["llmperf.verdict.latency_ms"] == "pass"
    assert float(props["llmperf.tokens_ratio.observed"]) > 3
    assert props["llmperf.tokens_ratio.budget"] == "1"
    assert float(props["llmperf.candidate.output_tokens"]) > float(
        props["llmperf.baseline.output_tokens"]
    )
    assert float(props["llmperf.candidate.latency_p50_ms"]) > 0
    assert props["llmperf.candidate.name"] == str(checkpoints["verbose"])
    assert {f"llmperf.verdict.{limit}" for limit in LIMITS} <= set(props)
    assert not list(cases["test_not_about_models"].iter("property"))


# --- bad paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--llm-report=existing_dir"],
            "*--llm-report names a directory (*existing_dir), not a file*",
        ),
        (
            ["--llm-markdown=a_file.txt/pr.md"],
            "*--llm-markdown names *pr.md, which cannot be created: *a_file.txt is a file, not a directory: give it a file path in a directory you can write to.",
        ),
        (["--llm-report="], "*'' is not a valid value for --llm-report: it must be a file path.*"),
    ],
)
def test_unwritable_report_paths_are_usage_errors(project, args, message):
    (project.path / "existing_dir").mkdir()
    (project.path / "a_file.txt").write_text("in the way")
    result = run(project, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert_no_traceback(result)
    assert (project.path / "a_file.txt").read_text() == "in the way"


def test_unwritable_pyproject_report_names_the_key(project):
    (project.path / "existing_dir").mkdir()
    project.makepyprojecttoml(PRICES + 'markdown = "existing_dir"\n')
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'markdown' in [[]tool.llmperf[]] names a directory*"])


def test_a_report_that_cannot_be_written_at_the_end_fails_the_run(pytester):
    """Here the test itself puts a directory where the report was to go."""
    pytester.makepyfile(
        "from pathlib import Path\n\ndef test_in_the_way():\n    Path('late.json').mkdir()\n"
        "    Path('late.json', 'keep.txt').write_text('kept')\n"
    )
    result = run(pytester, "--llm-report=late.json")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(
        [
            "pytest-llmperf: could not write the JSON report to *late.json (Is a directory): "
            "pass --llm-report a file path in a directory you can write to."
        ]
    )
    assert_no_traceback(result)
    assert (pytester.path / "late.json" / "keep.txt").read_text() == "kept"
