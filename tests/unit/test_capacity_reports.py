"""A capacity search in every report, from fake searches (no server): the steps a result
carries, the Markdown table and line, the plot's data and marks, and the plots page."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from pytest_llmperf.judge.capacity import (
    CapacityPlan,
    StepOutcome,
    ratio_bounds,
    search_capacity,
)
from pytest_llmperf.judge.quality import accuracy_interval
from pytest_llmperf.measure.capacity_steps import StepMeasurement
from pytest_llmperf.report import markdown
from pytest_llmperf.report.capacity_plot import capacity_figure, points, shifted
from pytest_llmperf.report.capacity_table import capacity_parts, step_header, step_rows
from pytest_llmperf.report.plots import INDEX_FILE, render
from pytest_llmperf.results import CapacityFigures, CapacityStep
from tests.unit.test_plots import judged_record

SLO = {"slo_latency_ms": 300.0}


def step(rate: float, met: int, outcome: str, requests: int = 54, **more: Any) -> CapacityStep:
    bounds = accuracy_interval(met, requests, 0.025)
    measured = {"latency_p95_ms": 80.0, "client_lag_ms": 0.5, **more}
    return CapacityStep(rate, requests, met, outcome, bounds.low, bounds.high, **measured)


BASELINE = CapacityFigures(
    0.9,
    26.6,
    28.6,
    False,
    "precision",
    (
        step(8.18, 54, "holds"),
        step(16.4, 54, "holds"),
        step(32.7, 44, "over-saturated", latency_p95_ms=335.0, client_lag_ms=1.4),
        step(24.5, 54, "holds"),
        step(28.6, 40, "misses"),
        step(26.6, 54, "holds"),
    ),
    SLO,
)
CANDIDATE = CapacityFigures(
    0.9,
    16.4,
    17.4,
    True,
    "time cap",
    (
        step(8.18, 54, "holds"),
        step(16.4, 54, "holds"),
        step(32.7, 6, "client-bound", client_lag_ms=45.0),
        step(24.5, 10, "over-saturated"),
        step(17.4, 98, "indeterminate", requests=108),
    ),
    SLO,
)


@functools.cache
def _judged() -> dict[str, Any]:
    """A judged test's record (fake models), which the searches below are put into."""
    return judged_record("t.py::test_capacity", 1.5, latency_ratio=2.0)


def capacity_record(
    test: str = "t.py::test_capacity",
    baseline: CapacityFigures | None = BASELINE,
    candidate: CapacityFigures = CANDIDATE,
) -> dict[str, Any]:
    record = copy.deepcopy(_judged())
    record["test"] = test
    for role, found in (("baseline", baseline), ("candidate", candidate)):
        figures = record[role]["figures"]
        figures["capacity"] = None if found is None else found.to_json()
        figures["capacity_rps"] = None if found is None else found.capacity_rps
    verdict = {
        **record["verdicts"][0],
        "limit": "capacity_ratio",
        "metric": "capacity",
        "kind": "floor_ratio",
        "budget": 0.9,
        "budget_text": ">= 0.9x",
        "outcome": "FAIL",
        "failed": True,
    }
    record["verdicts"] = [verdict] if baseline is not None else []
    record["failed"] = baseline is not None
    return record


# -- what a result carries ------------------------------------------------------------------


def test_a_step_carries_its_interval_percentiles_and_client_lag() -> None:
    measured = StepMeasurement(
        10.0,
        20,
        19,
        2.0,
        sent_s=tuple(float(i) for i in range(20)),
        latencies_ms=tuple(float(i) for i in range(1, 21)),
        ttfts_ms=(None,) * 20,
        client_lags_ms=tuple(0.1 * i for i in range(20)),
    )
    carried = measured.step("indeterminate", 0.75, 0.99)
    assert (carried.rate_rps, carried.requests, carried.met) == (10.0, 20, 19)
    assert (carried.low, carried.high, carried.outcome) == (0.75, 0.99, "indeterminate")
    assert carried.latency_p95_ms == pytest.approx(19.05)
    assert carried.ttft_p95_ms is None  # no first token was timed
    assert carried.client_lag_ms == pytest.approx(1.805)
    merged = measured.merged(measured)
    assert len(merged.client_lags_ms) == 40


def test_a_search_result_keeps_each_steps_interval() -> None:
    """The interval carried is the one the step was decided on."""

    def measure(rate: float, requests: int) -> StepMeasurement:
        met = requests if rate <= 10 else requests // 2
        return StepMeasurement(rate, requests, met, requests / rate)

    found = search_capacity(measure, CapacityPlan(0.9, 5.0, 300.0, max_steps=6)).figures()
    for carried in found.steps:
        bounds = accuracy_interval(carried.met, carried.requests, 0.025)
        assert (carried.low, carried.high) == (bounds.low, bounds.high)


def test_the_steps_survive_the_json_report_and_old_records_still_read() -> None:
    assert CapacityFigures.from_json(json.loads(json.dumps(BASELINE.to_json()))) == BASELINE
    old = {
        "target": 0.95,
        "held_rps": 10.0,
        "failed_rps": 20.0,
        "indeterminate": False,
        "stopped": "precision",
        "steps": [{"rate_rps": 10.0, "requests": 20, "met": 20, "outcome": "holds"}],
    }
    (read,) = CapacityFigures.from_json(old).steps
    assert read.low is None and read.client_lag_ms is None and read.attainment == 1.0


def test_the_terminal_line_names_over_saturated_client_bound_steps_and_the_lag() -> None:
    text = CANDIDATE.describe()
    assert "over-saturated at 24.5" in text
    assert "client-bound at 32.7" in text
    assert "client lag p95 up to 45.0 ms" in text


# -- the Markdown table and line ------------------------------------------------------------


def test_step_rows_go_by_rate_per_model_and_mark_the_bracket() -> None:
    record = capacity_record()
    assert step_header(record) == (
        "model",
        "rate (req/s)",
        "requests",
        "attainment",
        "95% interval",
        "p95 latency",
        "client lag p95",
        "outcome",
    )
    rows = step_rows(record)
    assert [row[0] for row in rows] == ["baseline"] * 6 + ["candidate"] * 5
    assert [row[1] for row in rows[:6]] == ["8.18", "16.4", "24.5", "26.6", "28.6", "32.7"]
    capacity = rows[3]
    assert capacity[3:5] == ("100.0%", "[93.4%, 100.0%]")
    assert capacity[-1] == "holds (capacity)"
    assert rows[4][-1] == "misses (bracket's top)"
    assert rows[5][-2:] == ("1.40 ms", "over-saturated")
    assert rows[-1][-1] == "client-bound" and rows[-1][-2] == "45.0 ms"
    assert rows[7][-1] == "holds (capacity)" and rows[8][-1] == "indeterminate (bracket's top)"


def test_a_ttft_column_only_where_a_step_timed_one() -> None:
    timed = CapacityFigures(
        0.9, 10.0, None, False, "step cap", (step(10.0, 54, "holds", ttft_p95_ms=21.0),)
    )
    record = capacity_record(baseline=None, candidate=timed)
    assert "p95 TTFT" in step_header(record)
    assert step_rows(record) == [
        (
            "candidate",
            "10.0",
            "54",
            "100.0%",
            "[93.4%, 100.0%]",
            "80.0 ms",
            "21.0 ms",
            "0.500 ms",
            "holds (capacity)",
        )
    ]


def test_the_capacity_line_gives_each_bracket_the_ratio_interval_and_verdict() -> None:
    parts = capacity_parts(capacity_record())
    assert parts[0] == "baseline 26.6 requests/s (held at 26.6, not at 28.6; 1 over-saturated)"
    assert parts[1] == (
        "candidate 16.4 requests/s (held at 16.4, not at 17.4; 1 over-saturated; "
        "1 client-bound; bracket rests on an indeterminate step)"
    )
    estimate, low, high = ratio_bounds((26.6, 28.6), (16.4, 17.4))
    assert parts[2] == (
        f"candidate/baseline {estimate:.3f}x within [{low:.3f}, {high:.3f}] (the brackets)"
    )
    assert parts[3] == "capacity_ratio >= 0.9x: FAIL"


def test_a_search_that_held_every_rate_or_none_says_so() -> None:
    held_all = CapacityFigures(0.9, 40.0, None, False, "time cap", (step(40.0, 54, "holds"),))
    held_none = CapacityFigures(0.9, None, 5.0, False, "floor", (step(5.0, 3, "misses"),))
    parts = capacity_parts(capacity_record(baseline=held_all, candidate=held_none))
    assert parts[0] == "baseline 40.0 requests/s (held at every rate tried, up to 40.0)"
    assert parts[1] == "candidate 0.00 requests/s (no rate held, down to 5.00)"
    assert "undefined (a model held no rate) within [0.00, 0.125]" in parts[2]


def build(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "summary": {
            "judged": len(records),
            "failed": len(records),
            "recorded": 0,
            "snapshots_written": 0,
        },
        "settings": {
            "repeats": 5,
            "latency_statistic": "p95",
            "mode": "natural",
            "false_failure_rate": 0.05,
            "baseline": "./base",
            "candidate": "./ckpt",
        },
        "tool": {"name": "pytest-llmperf", "version": "0"},
        "tests": records,
    }


def test_the_markdown_has_the_capacity_lines_and_the_steps_table() -> None:
    text = markdown.render(build([capacity_record()]))
    section = text[text.index("### Capacity at the SLO") :]
    assert "- `t.py::test_capacity`: latency ≤ 300 ms for 90% of requests\n" in section
    assert "  - capacity_ratio >= 0.9x: FAIL\n" in section
    assert "<details><summary>Steps of `t.py::test_capacity` (11 steps)</summary>" in section
    assert (
        "| baseline | 32.7 | 54 | 81.5% | [68.6%, 90.7%] | 335 ms | 1.40 ms | over-saturated |"
        in section
    )


def test_many_searches_stay_well_under_a_comments_limit_and_count_what_was_left_out() -> None:
    long_search = CapacityFigures(
        0.9, 10.0, 11.0, False, "step cap", tuple(step(10.0 + i, 54, "holds") for i in range(24))
    )
    records = [
        capacity_record(f"t.py::test_capacity[{i}]", long_search, long_search) for i in range(30)
    ]
    section = "\n".join(markdown.capacity_section(records))
    assert len(section) < 20_000  # GitHub cuts a comment at 65,536 characters
    rows = [line for line in section.splitlines() if line.startswith(("| baseline", "| candidate"))]
    assert len(rows) == markdown.CAPACITY_ROWS == 2 * 48 + 4
    assert "44 more steps left out." in section  # the third test's table: 4 of its 48 rows
    assert (
        "The steps of 27 more tests (1296 steps) are left out to keep this comment short: "
        "every step is in the JSON report (--llm-report)."
    ) in section
    assert section.count("<details>") == 3


# -- the plot -------------------------------------------------------------------------------


def test_the_plot_data_are_the_steps_by_rate_with_their_intervals() -> None:
    drawn = points(BASELINE)
    assert [p.rate for p in drawn] == sorted(s.rate_rps for s in BASELINE.steps)
    over = next(p for p in drawn if p.outcome is StepOutcome.OVER_SATURATED)
    assert over.attainment == pytest.approx(44 / 54)
    assert over.low < over.attainment < over.high


def test_only_rates_both_models_measured_are_drawn_apart() -> None:
    assert shifted([8.0, 9.5], [8.0, 12.0], 0, 2, log=True) == [pytest.approx(8.0 * 0.992), 9.5]
    assert shifted([8.0, 9.5], [8.0], 1, 2, log=False)[0] > 8.0


def test_the_plot_marks_the_target_the_outcomes_and_each_bracket() -> None:
    figure = capacity_figure(capacity_record())
    (axes,) = figure.axes
    keys = [text.get_text() for text in axes.get_legend().get_texts()]
    assert "over-saturated: the queue grew (never holds)" in keys
    assert "client-bound: the client sent late (never holds)" in keys
    models = [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    assert models[0] == "baseline (fake): capacity 26.6 requests/s (held at 26.6, not at 28.6)"
    assert models[2] == "target: 90% of requests within the SLO"
    assert [line.get_ydata()[0] for line in axes.get_lines() if line.get_linestyle() == "--"] == [
        0.9
    ]
    shaded = [patch.get_x() for patch in axes.patches]  # the two brackets
    assert shaded == pytest.approx([26.6, 16.4])
    assert "candidate/baseline 0.617x within [0.573, 0.654]" in axes.get_title(loc="left")


def test_the_plots_page_shows_each_capacity_plot_under_its_line() -> None:
    files = render([capacity_record()])
    (name,) = [name for name in files if name.startswith("capacity-")]
    assert files[name].startswith(b"\x89PNG")
    page = files[INDEX_FILE]
    section = page[page.index("<h2>SLO attainment against load</h2>") :]
    assert "capacity at latency ≤ 300 ms for 90% of requests: baseline 26.6" in section
    assert section.index(name) < section.index("<h2>Latency per test</h2>")
