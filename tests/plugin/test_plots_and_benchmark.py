"""--llm-plots and --llm-benchmark-json end to end: the files a user opens, and
pytest-benchmark's own command line reading what we wrote."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

# Imported here, before any pytester run: in-process runs drop the modules they import.
import matplotlib.figure  # noqa: F401
import pytest

from pytest_llmperf.text import number
from tests.plugin.helpers import PROMPTS, run

PNG = b"\x89PNG\r\n\x1a\n"
# Extra runs capped at 1 s: the files are what is tested, whatever the SLA's verdict.
SETTINGS = "[tool.llmperf]\nrepeats = 2\n"
QUICK = "--llm-max-seconds=1"
TESTS = f"""
import pytest

PROMPTS = {PROMPTS!r}

@pytest.mark.assert_within_budget(latency_ms=60000, tokens_ratio=100)
def test_answers(llm_candidate):
    llm_candidate.generate(PROMPTS, max_new_tokens=24)

@pytest.mark.parametrize("case", ["a/b:c", "d[e]"])
@pytest.mark.assert_within_budget(tokens_ratio=100)
def test_cases(llm_candidate, case):
    llm_candidate.generate(PROMPTS[:2], max_new_tokens=16)

def test_not_judged():
    pass
"""
JUDGED = [
    "test_models.py::test_answers",
    "test_models.py::test_cases[a/b:c]",
    "test_models.py::test_cases[d[e]]",
]
UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
BENCHMARK_CLI = str(Path(sys.executable).with_name("pytest-benchmark"))


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_models=TESTS)
    return pytester


def benchmark_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BENCHMARK_CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def table_medians(output: str) -> dict[str, list[float]]:
    """Benchmark row name -> medians in seconds, read from `pytest-benchmark compare`'s table
    (the unit from its header; a name appears once per file compared)."""
    medians: dict[str, list[float]] = {}
    scale, median_column = 1.0, 0
    for line in output.splitlines():
        header = re.match(r"Name \(time in (\w+)\)", line)
        if header:
            scale = UNITS[header.group(1)]
            median_column = line.split().index("Median") - 3  # "Name (time in ms)": 4 words
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if scale and len(cells) > 5 and cells[0].startswith("test_"):
            median = cells[median_column].split()[0].replace(",", "")
            medians.setdefault(cells[0].split(" (")[0], []).append(float(median) / scale)
    return medians


def summary_p50(output: str, test: str) -> tuple[str, str]:
    """(baseline, candidate) latency p50 as the terminal summary prints them."""
    for line in output.splitlines():
        if line.split()[:3] == [test, "latency", "p50"]:
            cells = line.split()
            return cells[3], cells[5]
    raise AssertionError(f"no latency p50 row for {test}")


def check_plots(plots: Path) -> None:
    files = {path.name: path.read_bytes() for path in plots.iterdir()}
    pngs = [name for name in files if name.endswith(".png")]
    assert sorted(files) == sorted([*pngs, "index.html"]) and len(pngs) == 4
    assert "tradeoff.png" in pngs
    assert all(files[name].startswith(PNG) for name in pngs)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in pngs)  # ids hold / : [ ]
    page = files["index.html"].decode()
    assert page.count("data:image/png;base64,") == 4
    assert all(test in page for test in JUDGED) and "test_not_judged" not in page


def by_model(document: dict, test: str) -> dict[str, dict]:
    return {b["params"]["model"]: b for b in document["benchmarks"] if b["group"] == test}


def test_plots_and_benchmark_json_then_a_storage_directory(project, checkpoints):
    """A run writes plots and a benchmark file; a second one writes into a storage
    directory; pytest-benchmark's own command line reads and compares both. (Under xdist,
    the controller writes them once: tests/plugin/test_xdist.py.)"""
    result = run(
        project,
        QUICK,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-plots=reports/plots",
        "--llm-benchmark-json=reports/bench.json",
    )
    result.assert_outcomes(passed=4)
    plots = project.path / "reports" / "plots"
    bench = project.path / "reports" / "bench.json"
    result.stdout.fnmatch_lines(
        [
            f"plots written to {plots} (5 files, open index.html)",
            f"pytest-benchmark JSON written to {bench} (6 benchmarks); see it with: "
            f"pytest-benchmark compare {bench}",
        ]
    )
    check_plots(plots)

    document = json.loads(bench.read_text())
    assert set(document) == {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    names = {(b["group"], b["name"]) for b in document["benchmarks"]}
    assert names == {
        (JUDGED[0], "test_answers[baseline]"),
        (JUDGED[0], "test_answers[candidate]"),
        (JUDGED[1], "test_cases[a/b:c-baseline]"),
        (JUDGED[1], "test_cases[a/b:c-candidate]"),
        (JUDGED[2], "test_cases[d[e]-baseline]"),
        (JUDGED[2], "test_cases[d[e]-candidate]"),
    }
    answers = by_model(document, JUDGED[0])
    assert answers["candidate"]["extra_info"]["model"].endswith("verbose")
    assert answers["baseline"]["extra_info"]["model"].endswith("baseline")
    assert (
        answers["candidate"]["extra_info"]["output_tokens"]
        > 3 * (answers["baseline"]["extra_info"]["output_tokens"])
    )
    assert [v["limit"] for v in answers["candidate"]["extra_info"]["verdicts"]] == [
        "latency_ms",
        "tokens_ratio",
    ]

    # pytest-benchmark's own tool reads the file, with the medians of the runs we measured.
    compared = benchmark_cli(project.path, "compare", str(bench))
    assert compared.returncode == 0, compared.stderr
    medians = table_medians(compared.stdout)
    for role in ("baseline", "candidate"):
        data = answers[role]["stats"]["data"]
        # every run: 2 repeats of every prompt, and those the p95 SLA took to settle
        assert len(data) == answers[role]["extra_info"]["runs"] >= 2 * len(PROMPTS)
        (median,) = medians[f"test_answers[{role}]"]
        assert median == pytest.approx(statistics.median(data), rel=1e-3)
    baseline_p50, candidate_p50 = summary_p50(result.stdout.str(), JUDGED[0])
    for role, shown in (("baseline", baseline_p50), ("candidate", candidate_p50)):
        assert shown == number(statistics.median(answers[role]["stats"]["data"]) * 1e3)

    second = run(
        project,
        QUICK,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['slow']}",
        "--llm-plots=plots",
        "--llm-benchmark-json=store/",
    )
    second.assert_outcomes(passed=4)
    (stored,) = (project.path / "store").rglob("*.json")
    second.stdout.fnmatch_lines(
        [
            f"plots written to {project.path / 'plots'} (5 files, open index.html)",
            f"pytest-benchmark JSON written to {stored} (6 benchmarks); see it with: "
            f"pytest-benchmark --storage {project.path / 'store'} compare",
        ]
    )
    check_plots(project.path / "plots")
    assert re.fullmatch(r"0001_llmperf_\w+_\d{8}_\d{6}\.json", stored.name)

    # pytest-benchmark finds the storage file without being given its path...
    listed = benchmark_cli(project.path, "--storage", "store", "list")
    assert listed.returncode == 0 and listed.stdout.split() == [str(stored)]
    # ...and compares the two runs, grouped by test.
    relative = str(stored.relative_to(project.path))  # it cannot mix absolute and relative
    compared = benchmark_cli(
        project.path, "compare", "--group-by=group", "reports/bench.json", relative
    )
    assert compared.returncode == 0, compared.stderr
    for test in JUDGED:
        assert f"benchmark '{test}': 4 tests" in compared.stdout
    medians = table_medians(compared.stdout)
    runs: dict[str, list[float]] = {}
    for path in (bench, stored):
        for benchmark in json.loads(path.read_text())["benchmarks"]:
            runs.setdefault(benchmark["name"], []).append(
                statistics.median(benchmark["stats"]["data"])
            )
    assert set(medians) == set(runs) and len(runs) == 6
    for name, expected in runs.items():
        assert sorted(medians[name]) == pytest.approx(sorted(expected), rel=1e-3)
    slow = by_model(json.loads(stored.read_text()), JUDGED[0])
    assert slow["candidate"]["extra_info"]["model"].endswith("slow")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--llm-plots=taken"],
            "ERROR: pytest-llmperf: --llm-plots names */taken, which is a file, not a "
            "directory: give it a directory path you can write to.",
        ),
        (
            ["--llm-benchmark-json=taken/bench.json"],
            "ERROR: pytest-llmperf: --llm-benchmark-json names */taken/bench.json, which cannot "
            "be created: */taken is a file, not a directory: give it a file path in a directory "
            "you can write to.",
        ),
    ],
)
def test_an_unwritable_output_is_a_usage_error_before_anything_runs(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makefile("", taken="a file, kept as it is")
    pytester.makepyfile("def test_x():\n    raise AssertionError('must not run')\n")
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert (pytester.path / "taken").read_text() == "a file, kept as it is"
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_without_matplotlib_plots_are_a_usage_error_naming_the_extra(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    pytester.makepyprojecttoml("[tool.llmperf]\nplots = 'plots'\n")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-llmperf: 'plots' in [[]tool.llmperf[]] needs matplotlib, which is not "
            "installed: pip install 'pytest-llmperf[[]plots[]]'."
        ]
    )
    assert not (pytester.path / "plots").exists()


def test_no_outputs_asked_for_writes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "plots written" not in result.stdout.str()
    assert "pytest-benchmark JSON" not in result.stdout.str()
    created = {p.name for p in pytester.path.iterdir()} - {".benchmarks"}  # pytest-benchmark's
    assert created == {"test_no_outputs_asked_for_writes_nothing.py"}
