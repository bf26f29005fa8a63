"""Every metric row (metrics.METRICS) shows in every output: a new row needs nothing more."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmperf.judge.records import JudgedTest
from pytest_llmperf.judge.verdicts import Comparison, judge
from pytest_llmperf.limits import parse_limits
from pytest_llmperf.metrics import METRICS
from pytest_llmperf.report import json_report, markdown
from pytest_llmperf.report.benchmark_export import model_benchmark
from pytest_llmperf.report.junit import properties
from pytest_llmperf.report.terminal import failure_lines
from pytest_llmperf.results import (
    CapacityFigures,
    CapacityStep,
    GenerationResult,
    LoadFigures,
    ModelFigures,
    Pricing,
    PromptSample,
    Run,
)
from pytest_llmperf.settings.settings import Settings


def result(scale: float, by: str = "rate") -> GenerationResult:
    """A result with a figure for every metric but the capacity of the unit not searched
    (`by`): scored, priced, sent under load."""
    runs = tuple(
        Run(10.0 * scale + i, 2.0 * scale, 6, False, 100.0 * scale, 2.0 * scale) for i in range(4)
    )
    figures = ModelFigures(98.0 * scale, 1024.0 * scale, int(2e6 * scale), 10)
    samples = (PromptSample(0, 5, "Paris.", runs, correct=True),)
    load = LoadFigures(
        4,
        None,
        requests=8,
        errors=1,
        wall_seconds=2.0,
        output_tokens=42,
        slo_requests=8,
        slo_met=6,
        slo_tightest_ms=500.0,
        client_lags_ms=(0.5, 1.0, 2.0),
    )
    steps = (CapacityStep(20.0, 108, 108, "holds"), CapacityStep(40.0, 108, 30, "over-saturated"))
    capacity = CapacityFigures(0.95, 20.0 * scale, 22.0 * scale, False, "precision", steps, by=by)
    return GenerationResult(
        samples, 100.0 * scale, Pricing(1.0, 2.0), load=load, figures=figures, capacity=capacity
    )


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """A test's record with its capacity searched by rate, and one searched by concurrency."""
    return [judged_record(by) for by in ("rate", "concurrency")]


@pytest.fixture
def record(records: list[dict[str, Any]], metric: Any) -> dict[str, Any]:
    """The record that has a figure of `metric`."""
    return next(r for r in records if r["candidate"]["figures"][metric.key] is not None)


def judged_record(by: str) -> dict[str, Any]:
    comparison = Comparison(
        candidate=result(1.5, by), baseline=result(1.0, by), baseline_source="synthetic"
    )
    verdicts = judge(parse_limits((), {"tokens_ratio": 1.0, "error_rate": 0.5}), comparison)
    judged = JudgedTest(
        nodeid="t.py::test_all",
        verdicts=verdicts,
        baseline_source="synthetic",
        candidate_name="cand",
        candidate=comparison.candidate,
        baseline=comparison.baseline,
    )
    return judged.record


def test_the_records_have_a_figure_for_every_metric(records: list[dict[str, Any]]) -> None:
    def missing(record: dict[str, Any]) -> set[str]:
        return {m.key for m in METRICS if record["candidate"]["figures"][m.key] is None}

    by_rate, by_concurrency = (missing(record) for record in records)
    assert by_rate == {"capacity_concurrency"} and by_concurrency == {"capacity_rps"}


@pytest.mark.parametrize("metric", METRICS, ids=lambda metric: metric.name)
def test_every_output_shows_the_metric(record: dict[str, Any], metric: Any) -> None:
    report = json_report.build_report([record], Settings(), None)
    assert metric.label in "\n".join(failure_lines(record))
    assert metric.label in markdown.render(report)
    assert json.loads(json_report.dumps(report))["tests"][0]["candidate"]["figures"][metric.key]
    assert f"llmperf.candidate.{metric.key}" in dict(properties(record))
    benchmark = model_benchmark(record, "candidate")
    assert benchmark is not None and metric.key in benchmark["extra_info"]


@pytest.mark.parametrize("metric", METRICS, ids=lambda metric: metric.name)
def test_the_plots_page_shows_the_metric(record: dict[str, Any], metric: Any) -> None:
    from pytest_llmperf.report.plots_page import index_html

    image = {record["test"]: "latency-x.png"}
    assert metric.label in index_html([record], {"latency-x.png": b""}, image)
