"""Report records and what is made of them: the JSON report, JUnit properties, the terminal
summary, and the files they are written to; with fake models, no pytest run."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from pytest_llmperf import xdist_support
from pytest_llmperf.errors import ConfigError
from pytest_llmperf.files import append, check_writable_file, write_atomically
from pytest_llmperf.judge.records import plain, record_from
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.report import json_report, publish
from pytest_llmperf.report.junit import properties
from pytest_llmperf.report.terminal import summary_lines
from pytest_llmperf.session.session import BASELINE, CANDIDATE, LlmPerfSession
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.plugin.helpers import _ROW
from tests.unit.test_session import PROMPTS, TimedFake, session_with


def judge(session: LlmPerfSession, nodeid: str, **limits: Any) -> dict[str, Any]:
    budget = parse_budget((), limits)
    session.generate(nodeid, CANDIDATE, PROMPTS, None, {}, pair_with_baseline=True)
    return record_from(session.judge(nodeid, budget))


def sample_records() -> list[dict[str, Any]]:
    """A test within budget, and one 4x slower than its baseline (fails latency_ratio)."""
    slow = session_with(TimedFake(1.0, 1), TimedFake(4.0, 2), price_output_per_1m=2.0)
    same = session_with(TimedFake(1.0, 3), TimedFake(1.0, 4, tokens=5))
    return [
        judge(same, "test_a.py::test_same", tokens_ratio=1.0, output_tokens=10),
        judge(slow, "test_a.py::test_slow", latency_ratio=1.2, tokens_ratio=1.1),
    ]


@pytest.fixture
def records() -> list[dict[str, Any]]:
    return sample_records()


# --- records -------------------------------------------------------------------------------


def test_plain_makes_numpy_nan_and_tuples_json_ready() -> None:
    value = {"a": np.float64(1.5), "b": np.int64(3), "c": (1, float("nan")), 4: [math.inf]}
    assert plain(value) == {"a": 1.5, "b": 3, "c": [1, None], "4": [None]}
    assert type(plain(np.float64(1.5))) is float
    assert plain(True) is True


def test_a_record_holds_both_models_figures_and_the_verdicts(records) -> None:
    same, slow = records
    assert json.loads(json.dumps(slow, allow_nan=False)) == slow
    assert slow["failed"] and slow["judged"] and not same["failed"]
    for role in ("candidate", "baseline"):
        figures = slow[role]["figures"]
        assert (
            len(figures["latencies_ms"]) == figures["runs"] == 9
        )  # a 4x slowdown, but 6 pairs cannot bound a median at the share
        assert figures["output_tokens"] == 5.0
    assert slow["candidate"]["figures"]["cost_usd"] == pytest.approx(5 * 2.0 / 1e6)
    assert same["candidate"]["figures"]["cost_usd"] is None  # no prices: not "free"
    latency, tokens = slow["verdicts"]
    assert (latency["limit"], latency["outcome"], latency["kind"]) == (
        "latency_ratio",
        "FAIL",
        "ratio",
    )
    assert latency["observed"] > 3 and latency["interval"]["low"] > 1.2
    assert latency["remedy"]
    assert (tokens["outcome"], tokens["observed"]) == ("pass", 1.0)


# --- JSON report ----------------------------------------------------------------------------


def test_the_report_has_the_documented_top_level_fields(records) -> None:
    settings = Settings(candidate=ModelSpec("./ckpt", Path(".")), repeats=2, seed=7)
    environment = {"hardware": {"device_type": "cpu"}, "software": {"python": "3.11"}}
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    report = json_report.build_report(records, settings, environment, created)
    assert list(report) == [
        "schema_version",
        "tool",
        "created",
        "environment",
        "settings",
        "summary",
        "tests",
        "ranking",
    ]
    assert report["ranking"] is None, "one candidate: nothing to rank"
    assert report["schema_version"] == json_report.REPORT_SCHEMA_VERSION == 1
    assert report["tool"] == {"name": "pytest-llmperf", "version": json_report.tool_version()}
    assert report["created"] == "2025-01-02T03:04:05+00:00"
    assert report["environment"] == environment
    assert report["summary"] == {
        "tests": 2,
        "judged": 2,
        "failed": 1,
        "passed": 1,
        "recorded": 0,
        "limits": 4,
        "limits_failed": 1,
        "limits_not_compared": 0,
        "limits_inconclusive": 0,
        "snapshots_written": 0,
    }
    assert report["tests"] == records
    assert json.loads(json_report.dumps(report)) == report


def test_the_report_settings_are_an_allowlist(records) -> None:
    settings = Settings(
        candidate=ModelSpec("./ckpt", Path(".")),
        repeats=3,
        latency_statistic="p90",
        price_input_per_1m=0.5,
        candidate_price_output_per_1m=4.0,
        default_limits=(("latency_ms", 400.0),),
    )
    recorded = json_report.build_report(records, settings, None)["settings"]
    assert recorded["candidate"] == "./ckpt" and recorded["baseline"] is None
    assert (recorded["repeats"], recorded["warmup"], recorded["seed"]) == (3, 1, 0)
    assert (recorded["mode"], recorded["latency_statistic"]) == ("natural", "p90")
    assert recorded["false_failure_rate"] == 0.05
    assert recorded["prices_per_1m"] == {
        "baseline": {"input": 0.5, "output": 0.0},
        "candidate": {"input": 0.5, "output": 4.0},
    }
    assert recorded["default_limits"] == {"latency_ms": 400.0}
    assert not any("api_key" in key or "tokenizer" in key for key in recorded)


# --- JUnit properties --------------------------------------------------------------------


def test_properties_name_every_verdict_and_single_number_figure(records) -> None:
    props = dict(properties(records[1]))
    assert props["llmperf.verdict.latency_ratio"] == "FAIL"
    assert props["llmperf.verdict.tokens_ratio"] == "pass"
    assert float(props["llmperf.latency_ratio.observed"]) > 3
    assert props["llmperf.latency_ratio.budget"] == "1.2"
    assert props["llmperf.failed"] == "true"
    assert props["llmperf.candidate.output_tokens"] == "5"
    assert props["llmperf.baseline.runs"] == "9"
    assert float(props["llmperf.candidate.latency_p50_ms"]) > float(
        props["llmperf.baseline.latency_p50_ms"]
    )
    assert "llmperf.candidate.latencies_ms" not in props  # raw lists are left out
    assert "llmperf.candidate.accuracy" not in props  # None is left out
    assert all(isinstance(value, str) for value in props.values())


# --- terminal summary from records ----------------------------------------------------------


def test_the_summary_renders_from_records_failures_first(records) -> None:
    lines = list(summary_lines(records, Path(".llmperf")))
    assert lines[0] == "2 tests judged, 1 over budget"
    rows = [_ROW.match(line) for line in lines]
    parsed = [(m.group(1), m.group(2), m.group(3)) for m in rows if m]
    assert parsed[:2] == [
        ("test_a.py::test_slow", "latency_ratio", "FAIL"),
        ("test_a.py::test_slow", "tokens_ratio", "pass"),
    ]
    assert set(parsed[2:]) == {
        ("test_a.py::test_same", "tokens_ratio", "pass"),
        ("test_a.py::test_same", "output_tokens", "pass"),
    }
    assert any("FAIL " in line and "x [" in line for line in lines)  # observed and interval
    assert "baseline and candidate side by side" in lines


def test_the_summary_says_what_llm_update_recorded_per_test(tmp_path: Path) -> None:
    settings = Settings(
        baseline=ModelSpec("./base", Path(".")),
        update=True,
        repeats=2,
        warmup=0,
        snapshot_dir=tmp_path,
    )
    session = LlmPerfSession(settings)
    session.models._loaded = {BASELINE: TimedFake(100.0, 1, tokens=12)}
    session.generate("t.py::test_a", CANDIDATE, PROMPTS, None, {}, pair_with_baseline=False)
    record = record_from(session.judge("t.py::test_a", parse_budget((), {"latency_ratio": 2})))
    lines = list(summary_lines([record], tmp_path))
    assert lines[0] == "1 baseline recorded"
    assert lines[1].split() == [
        "test",
        "model",
        "prompts",
        "runs",
        "latency",
        "p50",
        "output",
        "tokens",
    ]
    test, model, prompts, runs, latency, ms, tokens, tok = lines[2].split()
    assert (test, model, prompts, runs, ms, tokens, tok) == (
        "t.py::test_a",
        "./base",
        "3",
        "6",
        "ms",
        "12.0",
        "tok",
    )
    assert 500 < float(latency.replace(",", "")) < 2000  # 100x a noisy 10 ms
    assert not any("judged" in line for line in lines)


# --- files ------------------------------------------------------------------------------------


def test_write_atomically_creates_parents_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "report.json"
    write_atomically(path, "one")
    write_atomically(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temp file left


def test_append_keeps_what_others_wrote(tmp_path: Path) -> None:
    path = tmp_path / "step_summary.md"
    path.write_text("# from another step\n")
    append(path, "## ours\n")
    assert path.read_text() == "# from another step\n\n## ours\n"
    fresh = tmp_path / "fresh.md"
    append(fresh, "## ours\n")
    assert fresh.read_text() == "## ours\n"


def test_a_directory_is_not_a_report_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--llm-report names a directory \(.*\), not a file"):
        check_writable_file(tmp_path, "--llm-report")


def test_a_file_in_the_way_of_the_parent_is_named(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")
    with pytest.raises(ConfigError, match=r"out is a file, not a directory: give it a file path"):
        check_writable_file(tmp_path / "out" / "sub" / "report.json", "--llm-report")


def test_a_new_file_in_missing_directories_is_fine(tmp_path: Path) -> None:
    check_writable_file(tmp_path / "reports" / "ci" / "llmperf.json", "--llm-report")
    assert not (tmp_path / "reports").exists()  # nothing is created before the end


# --- where the reports go -------------------------------------------------------------------


def test_a_worker_sends_its_records_to_the_controller(tmp_path: Path) -> None:
    worker = session_with(TimedFake(1.0, 5), TimedFake(1.0, 6), report=tmp_path / "r.json")
    record = judge(worker, "test_w.py::test_one", tokens_ratio=1.0)
    worker.snapshots.note_tests(["test_w.py::test_one"])
    config = SimpleNamespace(workerinput={"workerid": "gw0"}, workeroutput={})
    assert xdist_support.is_worker(config)  # type: ignore[arg-type]
    xdist_support.send(config, worker)  # type: ignore[arg-type]
    assert config.workeroutput[xdist_support.RECORDS_KEY] == [record]
    assert config.workeroutput[xdist_support.ENVIRONMENT_KEY]["hardware"]["device_type"] == "cpu"
    assert config.workeroutput[xdist_support.SNAPSHOTS_KEY] == worker.snapshots.to_dict()

    controller = LlmPerfSession(Settings())
    xdist_support.receive(SimpleNamespace(workeroutput=config.workeroutput), controller)
    xdist_support.receive(SimpleNamespace(), controller)  # a worker that crashed sent nothing
    assert controller.report_records() == [record]
    assert controller.environment() == config.workeroutput[xdist_support.ENVIRONMENT_KEY]
    assert controller.snapshots.known_nodeids == {"test_w.py::test_one"}


def test_an_unwritable_step_summary_is_reported_not_fatal(records, tmp_path: Path) -> None:
    report = json_report.build_report(records, Settings(), None)
    environ = {"GITHUB_STEP_SUMMARY": str(tmp_path)}  # a directory: cannot append
    published = publish.publish(report, Settings(), environ)
    (line,) = published.lines
    assert line.startswith(f"pytest-llmperf: could not append to $GITHUB_STEP_SUMMARY ({tmp_path})")
    assert not published.failed


def test_the_statistics_line_says_what_the_estimate_is_and_on_which_runs() -> None:
    from pytest_llmperf.report.terminal import failure_lines

    split = {"false_failure_rate": 0.05, "decisions": 3, "looks": 2}
    interval = {
        "estimate": 1.18,
        "low": 0.78,
        "high": None,
        "confidence": 0.9917,
        "samples": 30,
        "paired": False,
        "sampling": "snapshot",
        "baseline_samples": 15,
        "widened_by": 0.25,
        "confidence_split": split,
    }
    verdict = {
        "limit": "latency_ratio",
        "metric": "latency",
        "kind": "ratio",
        "unit": "x",
        "budget": 1.1,
        "budget_text": "<= 1.10x",
        "outcome": "inconclusive",
        "failed": False,
        "baseline": 10.0,
        "candidate": 11.8,
        "observed": 1.18,
        "interval": interval,
        "noise_cv": {"baseline": 0.05, "candidate": 0.07},
        "decided_by": "",
        "note": "",
        "remedy": "",
    }
    record = {
        "test": "t.py::test_x",
        "mode": "natural",
        "failed": False,
        "judged": True,
        "candidate": {"name": "cand", "figures": None},
        "baseline": {"name": "base", "source": "snapshot", "figures": None},
        "verdicts": [verdict],
        "extra_seconds": 0.0,
        "requests_per_month": 0,
        "snapshot_written": None,
    }
    lines = list(failure_lines(record))
    assert (
        "  latency_ratio: 1.18x, the ratio of medians of 15 snapshot runs (recorded in another "
        "process) and 30 runs today; 99.17% interval [0.780, open] (widened by 25% each side for "
        "the shift between processes); noise (CV) baseline 5%, candidate 7%; decided by "
        "nothing yet"
    ) in lines
    assert (
        "    99.17%: the session's 5% chance of failing a good candidate, shared by 3 "
        "decisions, with up to 2 looks at each as runs are added (Pocock's boundary: stricter "
        "at each look, not split over them)"
    ) in lines

    # Live pairs: the allowance for where the weights lie, placed afresh every pass.
    pairs = {**interval, "sampling": "pairs", "paired": True, "widened_by": 0.0423}
    lines = list(failure_lines({**record, "verdicts": [{**verdict, "interval": pairs}]}))
    assert any(
        "(widened by 4.2% each side for where each model's weights lie in memory, placed "
        "afresh every pass)" in line
        for line in lines
    ), lines
