"""pytest-benchmark's JSON format from report records, with fake models: no pytest run."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark import __version__ as benchmark_version
from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import get_machine_id

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.judge.records import record_from
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.report.artifacts import write_outputs
from pytest_llmperf.report.benchmark_export import (
    benchmark_document,
    benchmark_name,
    dumps,
    model_benchmark,
    storage_path,
)
from pytest_llmperf.session.session import CANDIDATE
from pytest_llmperf.settings.outputs import resolve_output
from pytest_llmperf.settings.settings import build_settings
from tests.unit.test_session import PROMPTS, TimedFake, session_with

MACHINE = {"node": "ci-runner", "cpu": {"brand_raw": "test"}}
COMMIT = {"id": "0123456789abcdef", "dirty": False, "project": "demo", "branch": "main"}


def judged_record(nodeid: str, scale: float, **limits: Any) -> dict[str, Any]:
    session = session_with(TimedFake(1.0, 1), TimedFake(scale, 2), price_output_per_1m=2.0)
    budget = parse_budget((), limits)
    expected = ["answer", "other", "answer"]
    session.generate(nodeid, CANDIDATE, PROMPTS, expected, {}, pair_with_baseline=True)
    return record_from(session.judge(nodeid, budget))


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    return judged_record("tests/test_a.py::test_slow", 4.0, latency_ratio=1.2, tokens_ratio=1.1)


@pytest.mark.parametrize(
    ("nodeid", "role", "expected"),
    [
        ("t.py::test_a", "baseline", ("test_a[baseline]", "t.py::test_a[baseline]", "baseline")),
        (
            "t.py::test_a[x-1]",
            "candidate",
            ("test_a[x-1-candidate]", "t.py::test_a[x-1-candidate]", "x-1-candidate"),
        ),
        (
            "t.py::TestK::test_b[a::b/c]",
            "baseline",
            ("test_b[a::b/c-baseline]", "t.py::TestK::test_b[a::b/c-baseline]", "a::b/c-baseline"),
        ),
    ],
)
def test_each_model_is_a_benchmark_named_like_a_second_parametrize_axis(
    nodeid, role, expected
) -> None:
    assert benchmark_name(nodeid, role) == expected


def test_stats_are_pytest_benchmarks_own_from_every_run_in_seconds(record) -> None:
    candidate = model_benchmark(record, "candidate")
    latencies_s = [ms / 1000 for ms in record["candidate"]["figures"]["latencies_ms"]]
    stats = candidate["stats"]
    assert stats["data"] == latencies_s
    assert stats["rounds"] == len(latencies_s) == record["candidate"]["figures"]["runs"]
    assert stats["iterations"] == 1
    assert stats["median"] == pytest.approx(statistics.median(latencies_s))
    assert stats["median"] * 1000 == pytest.approx(record["candidate"]["figures"]["latency_p50_ms"])
    assert stats["min"] == min(latencies_s) and stats["ops"] == pytest.approx(
        len(latencies_s) / sum(latencies_s)
    )
    assert set(stats) >= {"mean", "stddev", "iqr", "q1", "q3", "outliers", "ld15iqr", "total"}
    assert candidate["group"] == "tests/test_a.py::test_slow"
    assert candidate["name"] == "test_slow[candidate]"
    assert candidate["params"] == {"model": "candidate"}


def test_extra_info_carries_tokens_accuracy_cost_model_and_verdicts(record) -> None:
    candidate = model_benchmark(record, "candidate")["extra_info"]
    baseline = model_benchmark(record, "baseline")["extra_info"]
    assert candidate["model"] == "fake" and baseline["model"] == "fake"
    assert candidate["output_tokens"] == 5.0
    assert candidate["accuracy"] == pytest.approx(2 / 3)
    assert candidate["cost_usd"] == pytest.approx(5 * 2.0 / 1e6)
    assert candidate["failed"] is True
    assert [(v["limit"], v["outcome"]) for v in candidate["verdicts"]] == [
        ("latency_ratio", "FAIL"),
        ("tokens_ratio", "pass"),
    ]
    assert "verdicts" not in baseline and "run in alternating pairs" in baseline["baseline_source"]


def test_a_model_without_latencies_has_no_benchmark(record) -> None:
    recorded = {**record, "candidate": {"name": "x", "figures": None}}
    assert model_benchmark(recorded, "candidate") is None
    document = benchmark_document([recorded], MACHINE, COMMIT)
    assert [b["name"] for b in document["benchmarks"]] == ["test_slow[baseline]"]


def test_the_document_has_pytest_benchmarks_layout_and_survives_its_loader(
    record, tmp_path
) -> None:
    document = benchmark_document([record], MACHINE, COMMIT)
    assert list(document) == ["machine_info", "commit_info", "benchmarks", "datetime", "version"]
    assert document["version"] == benchmark_version
    assert document["machine_info"] == MACHINE and document["commit_info"] == COMMIT
    path = tmp_path / "out.json"
    path.write_text(dumps(document))
    loaded = list(FileStorage(tmp_path, logger=None).load_benchmarks(str(path)))
    assert sorted(bench["name"] for bench in loaded) == [
        "test_slow[baseline]",
        "test_slow[candidate]",
    ]
    assert all(bench["median"] > 0 for bench in loaded)


def test_storage_files_take_the_next_number_in_the_machine_folder(tmp_path) -> None:
    first = storage_path(tmp_path, COMMIT)
    assert first.parent == tmp_path / get_machine_id()
    assert first.name.startswith("0001_llmperf_0123456789ab_") and first.suffix == ".json"
    first.parent.mkdir(parents=True)
    (first.parent / "0007_someone_else.json").write_text("{}")
    (first.parent / "notes.json").write_text("{}")
    assert storage_path(tmp_path, {**COMMIT, "dirty": True}).name.startswith("0008_llmperf_")
    assert storage_path(tmp_path, {**COMMIT, "dirty": True}).stem.endswith("_uncommitted-changes")


def settings_for(cli: dict[str, Any], file: dict[str, Any], tmp_path: Path):
    return build_settings(
        cli, file, cwd=tmp_path / "cwd", config_dir=tmp_path / "proj", rootdir=tmp_path
    )


def test_paths_are_relative_to_the_cwd_on_the_command_line_and_to_pyproject_in_it(
    tmp_path,
) -> None:
    from_cli = settings_for({"benchmark_json": "b.json"}, {}, tmp_path)
    from_file = settings_for({}, {"benchmark_json": "out/b.json"}, tmp_path)
    assert from_cli.benchmark_json == tmp_path / "cwd" / "b.json"
    assert from_file.benchmark_json == tmp_path / "proj" / "out" / "b.json"
    assert not from_cli.benchmark_storage
    storage = settings_for({"benchmark_json": ".benchmarks/"}, {}, tmp_path)
    assert storage.benchmark_storage and storage.benchmark_json == tmp_path / "cwd" / ".benchmarks"
    (tmp_path / "cwd" / "existing").mkdir(parents=True)
    assert settings_for({"benchmark_json": "existing"}, {}, tmp_path).benchmark_storage


@pytest.mark.parametrize("value", ["blocker/b.json", "blocker/store/"])
def test_a_path_under_a_file_is_a_config_error_naming_the_option(tmp_path, value) -> None:
    (tmp_path / "blocker").write_text("a file")
    with pytest.raises(ConfigError, match=r"^--llm-benchmark-json names .*blocker.* is a file"):
        resolve_output("benchmark_json", value, tmp_path, "--llm-benchmark-json")


def test_writes_atomically_and_says_how_to_compare(record, tmp_path) -> None:
    settings = settings_for({"benchmark_json": "store/"}, {}, tmp_path)
    lines = write_outputs(settings, [record], lambda: (MACHINE, COMMIT))
    ((line, failed),) = lines
    (written,) = (tmp_path / "cwd" / "store").rglob("*.json")
    assert not failed
    assert line == (
        f"pytest-benchmark JSON written to {written} (2 benchmarks); see it with: "
        f"pytest-benchmark --storage {tmp_path / 'cwd' / 'store'} compare"
    )
    assert json.loads(written.read_text())["benchmarks"][0]["group"] == record["test"]
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # no temporary left


def test_a_write_that_fails_at_the_end_is_reported_not_raised(record, tmp_path) -> None:
    settings = settings_for({"benchmark_json": "b.json"}, {}, tmp_path)
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "b.json").mkdir()  # appeared after the options were checked
    ((line, failed),) = write_outputs(settings, [record], lambda: (MACHINE, COMMIT))
    assert failed and line.startswith("pytest-llmperf: could not write pytest-benchmark JSON to")
