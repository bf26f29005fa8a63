"""Plots and index.html from report records, with fake models: no pytest run."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.judge.records import record_from
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
from pytest_llmperf.text import number
from tests.unit.test_session import PROMPTS, TimedFake, session_with

PNG = b"\x89PNG\r\n\x1a\n"


def judged_record(nodeid: str, scale: float, expected: list[str] | None = None, **limits: Any):
    session = session_with(TimedFake(1.0, 1), TimedFake(scale, 2))
    session.generate(nodeid, CANDIDATE, PROMPTS, expected, {}, pair_with_baseline=True)
    return record_from(session.judge(nodeid, parse_budget((), limits)))


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
    page = files[INDEX_FILE]
    assert page.count("data:image/png;base64,") == 3  # self-contained
    assert "t.py::test_q[a/b:&lt;c&gt;]" in page and "<c>" not in page
    assert "latency_ratio" in page and "test_recorded" not in page
    assert "over budget" in page and "within budget" in page


def test_with_nothing_judged_the_index_says_so() -> None:
    files = render([])
    assert list(files) == [INDEX_FILE]
    assert "No test was judged" in files[INDEX_FILE]


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
    assert texts[:2] == ["baseline: fake (9 runs)", "candidate: fake (9 runs)"]
    assert "latency_ms budget: p95 ≤ 25 ms" in texts
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


def test_the_latency_plot_draws_the_ratio_budget_at_the_baselines_median(records) -> None:
    from pytest_llmperf.report.plots import latency_figure

    record = records[0]  # latency_ratio=1.5 failed: the candidate lies beyond that line
    at = record["baseline"]["figures"]["latency_p50_ms"] * 1.5
    figure = latency_figure(record)
    (axes,) = figure.axes
    assert any(abs(line.get_xdata()[0] - at) < 1e-9 for line in axes.get_lines())
    texts = [text.get_text() for text in figure.legends[0].get_texts()]
    assert f"latency_ratio budget: ≤ 1.5x the baseline's median = {number(at)} ms" in texts
    assert record["candidate"]["figures"]["latency_p50_ms"] > at
    title = axes.get_title(loc="left")
    assert "latency_ratio FAIL " in title and "x [" in title  # the observed ratio, interval


def test_value_labels_keep_clear_of_budget_lines(records) -> None:
    from pytest_llmperf.report.plots import latency_figure

    record = copy.deepcopy(records[0])
    median = record["baseline"]["figures"]["latency_p50_ms"]
    for verdict in record["verdicts"]:  # both lines through the labels' default places
        verdict["budget"] = 1.0 if verdict["limit"] == "latency_ratio" else median
    figure = latency_figure(record)
    figure.draw_without_rendering()
    (axes,) = figure.axes
    lines = [axes.transData.transform((line.get_xdata()[0], 0))[0] for line in axes.get_lines()]
    labels = [text for text in axes.texts if text.get_text().startswith("p")]
    assert len(labels) == 4 and lines
    for label in labels:
        box = label.get_window_extent()
        assert not any(box.x0 - 2 <= x <= box.x1 + 2 for x in lines), label.get_text()
        assert axes.get_window_extent().x0 <= box.x0 and box.x1 <= axes.get_window_extent().x1


def test_tests_on_the_same_spot_are_drawn_apart(records) -> None:
    twins = [copy.deepcopy(records[1]), copy.deepcopy(records[1])]
    twins[1]["test"] = "t.py::test_twin"
    figure = tradeoff_figure(twins)
    figure.draw_without_rendering()
    accuracy = figure.axes[0]
    candidates = [c for c in accuracy.collections if len(c.get_offsets())][1::2]
    spots = [tuple(c.get_offset_transform().transform(c.get_offsets()[0])) for c in candidates]
    assert len(spots) == 2 and spots[0] != spots[1]  # both visible, neither hides the other


def page_of(records, **kwargs) -> str:
    return render(records, **kwargs)[INDEX_FILE]


def test_the_page_names_the_models_and_lists_failures_first_with_their_values(records) -> None:
    passing, failing = records[1], records[0]
    page = page_of([passing, failing])
    assert "<h1>pytest-llmperf: 1 of 2 tests over budget</h1>" in page
    assert "<b>Candidate:</b> <code>fake</code>" in page
    assert "<b>Baseline:</b> --llm-baseline=base, run in alternating pairs" in page
    # Every table and image: the failing test before the passing one.
    assert page.index("t.py::test_sla") < page.index("t.py::test_q")
    verdicts = page[
        page.index("<h2>Verdicts</h2>") : page.index("</table>", page.index("<h2>Verdicts</h2>"))
    ]
    assert re.search(r'<td class="fail">FAIL [\d.,]+ ms \[[\d.]+, (open|[\d.]+)\]</td>', verdicts)
    assert re.search(r'<td class="fail">FAIL [\d.]+x \[[\d.]+, [\d.]+\]</td>', verdicts)
    assert re.search(r"over budget: latency_ms [\d.,]+ ms \[", page)


def test_the_page_says_what_to_do_and_where_it_was_measured(records) -> None:
    settings = {"repeats": 3, "latency_statistic": "p95", "prices_per_1m": {}}
    environment = {"hardware": {"device_name": "Some CPU"}, "software": {"torch": "2.13.0"}}
    page = page_of(records, settings=settings, environment=environment)
    assert "<h2>What to do</h2>" in page and "<b>latency_ms, latency_ratio</b>: " in page
    settings_part = page[page.index("<h2>Settings and environment</h2>") :]
    assert "<td>setting</td><td>repeats</td><td>3</td>" in settings_part
    assert "<td>hardware</td><td>device_name</td><td>Some CPU</td>" in settings_part
    assert "<td>software</td><td>torch</td><td>2.13.0</td>" in settings_part
