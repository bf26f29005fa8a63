"""Plots and index.html from report records, with fake models: no pytest run."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.judge.records import outcome_record
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.report.artifacts import write_outputs
from pytest_llmperf.report.plots import (
    INDEX_FILE,
    TRADEOFF_FILE,
    latency_axis,
    latency_file,
    model_label,
    render,
    short_test_names,
    tradeoff_figure,
)
from pytest_llmperf.session.session import CANDIDATE
from pytest_llmperf.settings.outputs import resolve_output
from pytest_llmperf.settings.settings import build_settings
from tests.unit.test_session import PROMPTS, TimedFake, session_with

PNG = b"\x89PNG\r\n\x1a\n"


def judged_record(nodeid: str, scale: float, expected: list[str] | None = None, **limits: Any):
    session = session_with(TimedFake(1.0, 1), TimedFake(scale, 2))
    session.generate(nodeid, CANDIDATE, PROMPTS, expected, {}, pair_with_baseline=True)
    return outcome_record(session.judge(nodeid, parse_budget((), limits)))


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return [
        judged_record("t.py::test_sla", 3.0, latency_ms=25.0, latency_ratio=1.5),
        judged_record("t.py::test_q[a/b:<c>]", 1.0, ["answer", "x", "y"], min_accuracy=0.3),
    ]


@pytest.mark.parametrize(
    "nodeid",
    [
        "t.py::test_x",
        "dir/t.py::TestK::test_x[a/b:c d]",
        "t.py::test_x[../../etc]",
        "t.py::" + "x" * 300,
    ],
)
def test_file_names_from_test_ids_are_safe(nodeid) -> None:
    name = latency_file(nodeid)
    assert re.fullmatch(r"latency-[A-Za-z0-9._-]+\.png", name)
    assert len(name) < 110 and Path(name).name == name


def test_ids_that_clean_up_alike_keep_files_of_their_own() -> None:
    assert latency_file("t.py::test_x[a/b]") != latency_file("t.py::test_x[a_b]")


def test_render_writes_a_png_per_judged_test_the_tradeoff_and_an_index(records) -> None:
    recorded = {**records[0], "test": "t.py::test_recorded", "judged": False, "verdicts": []}
    files = render([*records, recorded])
    pngs = {latency_file(r["test"]) for r in records} | {TRADEOFF_FILE}
    assert set(files) == pngs | {INDEX_FILE}
    assert all(files[name].startswith(PNG) for name in pngs)
    page = files[INDEX_FILE].decode()
    assert page.count("data:image/png;base64,") == 3  # self-contained
    assert "t.py::test_q[a/b:&lt;c&gt;]" in page and "<c>" not in page
    assert "latency_ratio" in page and "test_recorded" not in page
    assert "over budget" in page and "within budget" in page


def test_with_nothing_judged_the_index_says_so() -> None:
    files = render([])
    assert list(files) == [INDEX_FILE]
    assert "No test was judged" in files[INDEX_FILE].decode()


def test_tradeoff_is_drawn_for_one_test_and_for_twenty(records) -> None:
    many = []
    for index in range(20):
        record = copy.deepcopy(records[index % 2])
        record["test"] = f"tests/test_{index % 3}.py::test_case[{index}]"
        many.append(record)
    one = tradeoff_figure([records[0]])
    assert [axes.get_title() for axes in one.axes] == ["output tokens vs latency (1 of 1 test)"]
    twenty = tradeoff_figure(many)
    assert [axes.get_title() for axes in twenty.axes] == [
        "accuracy vs latency (10 of 20 tests)",
        "output tokens vs latency (20 of 20 tests)",
    ]
    for figure, count in ((one, 1), (twenty, 20)):
        (legend,) = figure.legends
        assert len(legend.get_texts()) == count + 2  # every test, baseline, candidate
    labels = [text.get_text() for text in twenty.legends[0].get_texts()]
    assert labels[2] == "1  test_case[0]"  # numbered beside the points; file left out


def test_no_empty_panel_when_no_test_scores_accuracy(records) -> None:
    figure = tradeoff_figure([records[0]])
    assert [axes.get_ylabel() for axes in figure.axes] == ["output tokens per request (mean)"]
    assert figure.axes[0].get_ylim()[0] == 0  # counts from zero: changes look their size


def test_priced_runs_show_cost_and_accuracy_panels(records) -> None:
    priced = copy.deepcopy(records[1])
    for role in ("baseline", "candidate"):
        priced[role]["figures"]["cost_usd"] = 2e-5
    labels = [axes.get_ylabel() for axes in tradeoff_figure([priced]).axes]
    assert labels == ["accuracy (share of answers correct)", "cost per 1,000 requests (US$)"]


def test_one_outlier_is_clipped_and_a_wide_spread_goes_log() -> None:
    steady = [10.0 + index % 5 for index in range(40)]
    assert latency_axis(steady) == (False, None)
    log, clip = latency_axis([*steady, 400.0])
    assert not log and 14 < clip < 16
    assert latency_axis([*steady, *[100.0 + index for index in range(40)]]) == (True, None)


def test_the_latency_plot_draws_the_sla_line_and_names_the_models(records) -> None:
    from pytest_llmperf.report.plots import latency_figure

    figure = latency_figure(records[0])
    (axes,) = figure.axes
    assert any(line.get_xdata()[0] == 25.0 for line in axes.get_lines())  # the SLA at 25 ms
    texts = [text.get_text() for text in figure.legends[0].get_texts()]
    assert texts[:2] == ["baseline: fake (6 runs)", "candidate: fake (6 runs)"]
    assert "latency_ms budget: p95 ≤ 25.0 ms" in texts
    assert axes.get_xlabel().startswith("end-to-end latency per request (ms)")
    assert axes.get_title(loc="left").startswith("t.py::test_sla\n2 of 2 limits over budget")


def test_names_are_shortened_for_legends() -> None:
    assert model_label("/tmp/runs/checkpoints/verbose") == "verbose"
    assert model_label("org/model") == "model"
    assert model_label("./adapter (LoRA adapter on ./base)") == "./adapter (LoRA adapter on ./base)"
    assert model_label("x" * 60).endswith("…") and len(model_label("x" * 60)) == 40
    assert short_test_names([{"test": "a.py::t"}, {"test": "b.py::u"}]) == ["t", "u"]
    assert short_test_names([{"test": "a.py::t"}, {"test": "b.py::t"}]) == ["a.py::t", "b.py::t"]


def test_without_matplotlib_plots_are_a_config_error_naming_the_fix(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError) as raised:
        resolve_output("plots", "plots", tmp_path, "--llm-plots")
    assert str(raised.value) == (
        "--llm-plots needs matplotlib, which is not installed: pip install 'pytest-llmperf[plots]'."
    )


def test_a_plots_path_that_is_a_file_is_a_config_error(tmp_path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(
        ConfigError, match=r"'plots' in \[tool.llmperf\] names .*taken, which is a file"
    ):
        build_settings(
            {},
            {"plots": "taken"},
            cwd=tmp_path / "elsewhere",
            config_dir=tmp_path,
            rootdir=tmp_path,
        )


def test_plot_paths_resolve_like_dir(tmp_path) -> None:
    def settings(cli: dict[str, Any], file: dict[str, Any]):
        return build_settings(
            cli, file, cwd=tmp_path / "cwd", config_dir=tmp_path / "proj", rootdir=tmp_path
        )

    assert settings({"plots": "p"}, {"plots": "q"}).plots == tmp_path / "cwd" / "p"
    assert settings({}, {"plots": "q"}).plots == tmp_path / "proj" / "q"


def test_write_outputs_replaces_files_whole_and_counts_them(records, tmp_path: Path) -> None:
    settings = build_settings(
        {"plots": "out"}, {}, cwd=tmp_path, config_dir=tmp_path, rootdir=tmp_path
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / INDEX_FILE).write_text("old")
    ((line, failed),) = write_outputs(settings, records, lambda: ({}, {}))
    assert not failed
    assert line == f"plots written to {tmp_path / 'out'} (4 files, open index.html)"
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(render(records))  # no temporary files left behind
    assert (tmp_path / "out" / INDEX_FILE).read_text().startswith("<!doctype html>")
