"""Figures that do not depend on the machine: weights, KV cache, counted FLOPs.

They are exact: limits on them are compared as they are, with no interval, and judged even
against a snapshot from other hardware.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pytest_llmperf.judge.verdicts import Comparison, Outcome, judge
from pytest_llmperf.limits import LIMIT_SPECS, parse_limits
from pytest_llmperf.metrics import (
    FLOPS,
    FLOPS_PER_TOKEN,
    METRICS_BY_NAME,
    SAME_COMPUTE_SLOWER_REMEDY,
)
from pytest_llmperf.results import GenerationResult, ModelFigures, Pricing, PromptSample, Run
from pytest_llmperf.snapshots.store import Snapshot, SnapshotCall, SnapshotStore

FIGURES = ModelFigures(
    weights_mb=100.0, kv_cache_bytes_per_token=2048.0, counted_flops=2_000_000, counted_tokens=10
)


def make_result(
    figures: ModelFigures = FIGURES,
    latencies: tuple[float, ...] = (100.0, 101.0, 99.0, 100.0),
    tokens: int = 10,
) -> GenerationResult:
    runs = tuple(
        Run(latency, latency / 10, tokens, False, figures.weights_mb, 1.0)
        if figures.weights_mb is not None
        else Run(latency, latency / 10, tokens, False)
        for latency in latencies
    )
    samples = (PromptSample(0, 21, "answer", runs),)
    peak = None if figures.weights_mb is None else figures.weights_mb + 1.0
    return GenerationResult(samples, peak, Pricing(1.0, 2.0), figures=figures)


def across_machines(candidate: GenerationResult, baseline: GenerationResult) -> Comparison:
    """A comparison against a snapshot measured on other hardware: timings not compared."""
    return Comparison(
        candidate=candidate,
        baseline=baseline,
        baseline_source="snapshot from a GPU",
        timings_comparable=False,
        timings_note="the snapshot was measured on other hardware",
        against_snapshot=True,
    )


def verdicts(comparison: Comparison, **limits: float) -> dict[str, object]:
    return {v.limit.name: v for v in judge(parse_limits((), limits), comparison)}


def test_figures_of_a_result() -> None:
    result = make_result()
    # 21 prompt tokens and 10 generated: the passes read 21 + 9 tokens.
    assert result.tokens_read == 30
    assert result.flops_per_token == 200_000
    assert result.flops == 200_000 * 30
    assert result.kv_cache_mb == pytest.approx(2048 * 30 / 2**20)
    assert result.weights_mb == 100.0
    assert result.generation_memory_mb == 1.0


def test_twice_the_compute_per_token_fails_flops_ratio_on_any_machine() -> None:
    doubled = replace(FIGURES, counted_flops=2 * FIGURES.counted_flops)
    judged = verdicts(
        across_machines(make_result(doubled), make_result()), flops_ratio=1.2, latency_ratio=1.5
    )
    flops = judged["flops_ratio"]
    assert flops.outcome is Outcome.FAIL
    assert flops.observed == 2.0
    assert flops.interval is None  # exact: no statistics
    assert "more compute per token: the model grew (2.00x" in flops.remedy
    assert judged["latency_ratio"].outcome is Outcome.NOT_COMPARED


def test_exact_limits_are_compared_exactly() -> None:
    """A figure a hair over the budget fails: no noise floor applies to counted figures."""
    over = replace(FIGURES, counted_flops=int(FIGURES.counted_flops * 1.2) + 10)
    at = replace(FIGURES, counted_flops=int(FIGURES.counted_flops * 1.2))
    base = make_result()
    assert (
        verdicts(across_machines(make_result(over), base), flops_ratio=1.2)["flops_ratio"].outcome
        is Outcome.FAIL
    )
    assert (
        verdicts(across_machines(make_result(at), base), flops_ratio=1.2)["flops_ratio"].outcome
        is Outcome.PASS
    )


def test_weights_four_times_larger_say_quantize() -> None:
    bigger = replace(FIGURES, weights_mb=400.0)
    judged = verdicts(
        across_machines(make_result(bigger), make_result()), weights_ratio=2.0, weights_mb=300
    )
    assert judged["weights_ratio"].outcome is Outcome.FAIL
    assert judged["weights_ratio"].remedy.startswith("weights 4.00x larger: quantize")
    assert judged["weights_mb"].outcome is Outcome.FAIL
    assert judged["weights_mb"].candidate == 400.0


def test_larger_kv_cache_from_longer_answers_names_them() -> None:
    judged = verdicts(across_machines(make_result(tokens=30), make_result()), kv_cache_ratio=1.5)
    verdict = judged["kv_cache_ratio"]
    assert verdict.outcome is Outcome.FAIL
    assert "answer at greater length" in verdict.remedy


def test_memory_grown_with_the_weights_says_quantize() -> None:
    bigger = replace(FIGURES, weights_mb=400.0)
    comparison = replace(
        across_machines(make_result(bigger), make_result()), timings_comparable=True
    )
    verdict = verdicts(comparison, memory_mb=200)["memory_mb"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.remedy.startswith("weights 4.00x larger: quantize")


def test_same_compute_per_token_but_slower_is_a_kernel_or_dtype_problem() -> None:
    slower = make_result(latencies=(300.0, 301.0, 299.0, 300.0))
    comparison = Comparison(candidate=slower, baseline=make_result(), baseline_source="live")
    verdict = verdicts(comparison, latency_ratio=1.5)["latency_ratio"]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.remedy == SAME_COMPUTE_SLOWER_REMEDY
    assert verdict.remedy.startswith("same compute per token, slower: a kernel or dtype problem")


def test_slower_with_more_compute_per_token_says_the_model_grew() -> None:
    bigger = replace(FIGURES, counted_flops=3 * FIGURES.counted_flops)
    slower = make_result(bigger, latencies=(300.0, 301.0, 299.0, 300.0))
    comparison = Comparison(candidate=slower, baseline=make_result(), baseline_source="live")
    verdict = verdicts(comparison, latency_ratio=1.5)["latency_ratio"]
    assert verdict.remedy.startswith("more compute per token: the model grew (3.00x")


@pytest.mark.parametrize("limit", ["weights_mb", "weights_ratio", "kv_cache_ratio", "flops_ratio"])
def test_a_served_model_has_no_figures_and_says_so(limit: str) -> None:
    served = make_result(ModelFigures())
    comparison = Comparison(candidate=served, baseline=make_result(), baseline_source="live")
    verdict = verdicts(comparison, **{limit: 2.0})[limit]
    assert verdict.outcome is Outcome.FAIL
    assert "not measured for a served model" in verdict.note


def test_figures_metrics_do_not_depend_on_the_hardware() -> None:
    for name in ("weights", "kv_cache", "flops_per_token", "flops"):
        assert not METRICS_BY_NAME[name].hardware_bound
    for name in ("weights_mb", "weights_ratio", "kv_cache_ratio", "flops_ratio"):
        assert not LIMIT_SPECS[name].is_statistical
        assert not LIMIT_SPECS[name].is_timing
    assert METRICS_BY_NAME["memory"].key == "peak_memory_mb"
    assert METRICS_BY_NAME["generation_memory"].key == "generation_memory_mb"


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        (FLOPS_PER_TOKEN, 226_665.4, "227 kFLOP/tok"),
        (FLOPS_PER_TOKEN, 248_000_000.0, "248 MFLOP/tok"),
        (FLOPS, 14_100_000_000_000.0, "14.1 TFLOP"),
        (FLOPS, 12.0, "12.0 FLOP"),
    ],
)
def test_flops_read_with_an_si_prefix(unit, value: float, text: str) -> None:
    assert unit.format(value) == text


def test_figures_survive_a_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    call = SnapshotCall("sha", 1, {"max_new_tokens": 10}, make_result())
    store.save(Snapshot("t.py::test_x", {"name": "m"}, {}, {}, (call,)))
    loaded = store.load("t.py::test_x")
    assert loaded is not None
    result = loaded.result(Pricing(), 95.0)
    assert result.figures == FIGURES
    assert result.runs[0].generation_memory_mb == 1.0
    summary = store.path_for("t.py::test_x").read_text()
    assert '"flops_per_token": 200000' in summary


def test_figures_of_several_calls_add_their_counts() -> None:
    other = ModelFigures(100.0, 2048.0, counted_flops=6_000_000, counted_tokens=20)
    combined = GenerationResult.combine([make_result(), make_result(other)])
    assert combined.flops_per_token == 8_000_000 / 30
    assert combined.weights_mb == 100.0


def test_a_quantized_candidate_slower_shows_its_weight_saving_beside_its_compute() -> None:
    int8 = replace(FIGURES, weights_mb=30.0)
    slower = make_result(int8, latencies=(300.0, 301.0, 299.0, 300.0))
    comparison = Comparison(
        candidate=slower, baseline=make_result(), baseline_source="live", candidate_quantized=True
    )
    remedy = verdicts(comparison, latency_ratio=1.5)["latency_ratio"].remedy
    assert remedy.startswith("the candidate is already quantized and still slower")
    assert "weights take 0.300x the baseline's memory" in remedy
    assert "each token costs 1.00x its compute" in remedy
