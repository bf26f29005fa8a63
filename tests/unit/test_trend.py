"""--llm-history: reports appended by commit and time, and the trend across them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pytest_llmperf.report.history import append_report, git_commit
from pytest_llmperf.report.trend import Series, main, read_history, series_of


def report(created: str, latency: float, tokens: float = 10.0) -> dict:
    figures = {"latency_p50_ms": latency, "output_tokens": tokens}
    verdict = {
        "limit": "latency_ms",
        "metric": "latency",
        "kind": "absolute",
        "budget": 400.0,
        "baseline": None,
        "outcome": "pass",
    }
    record = {
        "test": "t.py::test_a",
        "judged": True,
        "candidate": {"name": "./c", "figures": figures},
        "verdicts": [verdict],
    }
    return {"created": created, "tests": [record], "summary": {"judged": 1}}


LATENCIES = [100.0, 101.0, 99.0, 150.0, 151.0, 149.5]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    for day, latency in enumerate(LATENCIES, 1):
        append_report(tmp_path, report(f"2025-01-0{day}T00:00:00+00:00", latency), tmp_path)
    return tmp_path


def test_only_the_step_beyond_the_noise_is_flagged():
    assert Series("t", "latency", LATENCIES).flagged_steps() == [3]
    assert Series("t", "latency", [100.0, 100.5, 99.8, 100.2]).flagged_steps() == []
    assert Series("t", "output_tokens", [10.0, 10.0, 10.0, 14.0]).flagged_steps() == [3]


def test_history_is_read_oldest_first_with_budgets(history):
    runs = read_history(history)
    assert len(runs) == len(LATENCIES)
    (latency, tokens) = series_of(runs)
    assert latency.values == LATENCIES
    assert latency.budget == (400.0, None)
    assert tokens.flagged_steps() == []


def test_command_prints_the_table_and_writes_the_page(history, tmp_path, capsys):
    page = tmp_path / "trend.html"
    assert main([str(history), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "6 runs, oldest first" in out
    latency_row = next(line for line in out.splitlines() if "latency p50" in line)
    assert latency_row.count("!") == 1 and "150 ms !" in latency_row
    assert page.read_text().count("<img") == 2


def test_not_a_history_is_one_clear_line(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "is not a directory" in err and "--llm-history" in err


def test_entries_are_named_by_time_and_commit_and_never_overwrite(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    commit = git_commit(repo)
    assert commit is not None
    first = append_report(tmp_path / "h", report("2025-01-02T03:04:05+00:00", 1.0), repo)
    again = append_report(tmp_path / "h", report("2025-01-02T03:04:05+00:00", 2.0), repo)
    assert first.name == f"20250102T030405Z-{commit}.json"
    assert again != first and json.loads(again.read_text())["tests"][0]["candidate"]


WRONG_SHAPES = {
    "tests-not-a-list.json": {"created": "2025-02-01T00:00:00+00:00", "tests": 5},
    "record-not-an-object.json": {"created": "2025-02-02T00:00:00+00:00", "tests": ["x"]},
    "no-candidate.json": {
        "created": "2025-02-03T00:00:00+00:00",
        "tests": [{"test": "t.py::test_a", "judged": True, "verdicts": []}],
    },
    "figures-a-string.json": {
        "created": "2025-02-04T00:00:00+00:00",
        "tests": [{"test": "t", "judged": True, "candidate": "x", "verdicts": []}],
    },
    "latency-text.json": {
        "created": "2025-02-05T00:00:00+00:00",
        "tests": [
            {
                "test": "t.py::test_a",
                "judged": True,
                "candidate": {"figures": {"latency_p50_ms": "fast"}},
                "verdicts": [],
            }
        ],
    },
    "not-an-object.json": [1, 2],
}


def test_reports_of_the_wrong_shape_are_skipped_naming_each(history, capsys):
    for name, document in WRONG_SHAPES.items():
        (history / name).write_text(json.dumps(document))
    (history / "broken.json").write_text("{not json")
    assert main([str(history)]) == 0
    captured = capsys.readouterr()
    assert f"{len(LATENCIES)} runs, oldest first" in captured.out
    for name in [*WRONG_SHAPES, "broken.json"]:
        assert f"skipped {history / name}" in captured.err
    assert "Traceback" not in captured.err


def test_a_history_of_only_unreadable_reports_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(WRONG_SHAPES["no-candidate.json"]))
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"skipped {tmp_path / 'a.json'}" in err and "no report it could read" in err


@pytest.mark.parametrize("where", ["folder", "missing/trend.html"])
def test_html_at_a_folder_or_in_a_missing_folder_is_refused_before_rendering(
    history, tmp_path, capsys, monkeypatch, where
):
    from pytest_llmperf.report import trend

    (tmp_path / "folder").mkdir()
    monkeypatch.setattr(trend, "html_page", lambda *a: pytest.fail("rendered before checking"))
    assert main([str(history), "--html", str(tmp_path / where)]) == 2
    err = capsys.readouterr().err
    assert "--html" in err and str(tmp_path / where) in err
    assert "Traceback" not in err


def test_last_keeps_the_most_recent_runs(history, capsys):
    assert main([str(history), "--last", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 runs, oldest first" in out
    latency_row = next(line for line in out.splitlines() if "latency p50" in line)
    assert latency_row.split()[-4:] == ["151", "ms", "150", "ms"]  # 151.0 and 149.5


@pytest.mark.parametrize("bad", ["0", "-1", "two", str(10**400)])
def test_last_must_be_a_whole_number_of_at_least_1(history, capsys, bad):
    with pytest.raises(SystemExit) as exit_info:
        main([str(history), "--last", bad])
    assert exit_info.value.code == 2
    assert "--last" in capsys.readouterr().err
