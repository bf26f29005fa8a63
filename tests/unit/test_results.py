"""Aggregates of GenerationResult over synthetic runs."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_llmperf.results import GenerationResult, Pricing, PromptSample, Run, TokenCount


def sample(
    index: int,
    latencies: list[float],
    *,
    ttft: float | None = 10.0,
    tokens: int = 5,
    input_tokens: int = 8,
    hits: list[bool] | None = None,
    correct: bool | None = None,
    text: str = "",
) -> PromptSample:
    hits = hits or [False] * len(latencies)
    runs = tuple(
        Run(latency, ttft, tokens, hit) for latency, hit in zip(latencies, hits, strict=True)
    )
    return PromptSample(index, input_tokens, text or f"answer {index}", runs, correct)


# Two prompts, three repeats each: the median over all six runs (3.5 ms) is not the
# median of the per-prompt medians (51 ms).
A = sample(0, [1.0, 2.0, 3.0], tokens=4, input_tokens=10, hits=[True, False, False])
B = sample(1, [4.0, 100.0, 200.0], tokens=8, input_tokens=30, hits=[False, True, False])
ALL_LATENCIES = [1.0, 2.0, 3.0, 4.0, 100.0, 200.0]


def result(*samples: PromptSample, memory: float = 100.0, **kwargs) -> GenerationResult:
    return GenerationResult(samples or (A, B), memory, **kwargs)


# --- Run and PromptSample ------------------------------------------------------------------


def test_run_tpot() -> None:
    assert Run(100.0, 10.0, 10, False).tpot_ms == pytest.approx(10.0)
    assert Run(100.0, 10.0, 1, False).tpot_ms is None
    assert Run(100.0, None, 10, False).tpot_ms is None


def test_prompt_sample_aggregates() -> None:
    runs = (Run(30.0, 3.0, 4, False), Run(10.0, None, 6, False), Run(20.0, 5.0, 8, False))
    item = PromptSample(0, 7, "x", runs)
    assert item.latency_ms == 20.0
    assert item.ttft_ms == 4.0  # median of the runs that have a TTFT
    assert item.output_tokens == 6.0
    no_ttft = PromptSample(0, 7, "x", (Run(30.0, None, 4, False),))
    assert no_ttft.ttft_ms is None


# --- GenerationResult ------------------------------------------------------------------------


def test_runs_are_every_run_of_every_prompt_in_order() -> None:
    assert [run.latency_ms for run in result().runs] == ALL_LATENCIES
    np.testing.assert_array_equal(result().latencies_ms, ALL_LATENCIES)
    assert result().latencies_ms.dtype == float


def test_latency_ms_is_the_median_over_all_runs() -> None:
    assert result().latency_ms == 3.5


def test_p95_is_numpys_percentile_over_all_runs() -> None:
    expected = float(np.percentile(ALL_LATENCIES, 95))
    assert result().p95_latency_ms == pytest.approx(expected)
    assert result().latency_at(50) == result().latency_ms
    assert result().latency_at(99) == pytest.approx(float(np.percentile(ALL_LATENCIES, 99)))


def test_sla_latency_uses_the_configured_percentile() -> None:
    configured = result(latency_percentile=50.0)
    assert configured.sla_latency_ms == configured.latency_ms
    assert result().sla_latency_ms == result().p95_latency_ms


def test_ttft_over_runs_that_have_one() -> None:
    fast = sample(0, [10.0, 10.0], ttft=2.0)
    slow = sample(1, [10.0, 10.0], ttft=8.0)
    none = sample(2, [10.0, 10.0], ttft=None)
    mixed = result(fast, slow, none, slow)
    assert mixed.ttft_ms == 8.0
    np.testing.assert_array_equal(mixed.ttfts_ms, [2.0, 2.0, 8.0, 8.0, 8.0, 8.0])
    assert mixed.ttft_at(0) == 2.0
    without = result(none)
    assert without.ttft_ms is None
    assert without.ttft_at(95) is None
    assert without.tpot_ms is None


def test_tpot_is_the_median_over_runs() -> None:
    # (latency - ttft) / (tokens - 1) per run: (19-10)/3 = 3, (40-10)/3 = 10, (100-10)/3 = 30
    item = sample(0, [19.0, 40.0, 100.0], ttft=10.0, tokens=4)
    assert result(item).tpot_ms == pytest.approx(10.0)


def test_token_means_per_request() -> None:
    assert result().input_tokens == 20.0  # (10 + 30) / 2
    assert result().output_tokens == 6.0  # (4 + 8) / 2


def test_tokens_per_s_is_total_tokens_over_total_time() -> None:
    # 2 runs x 10 tokens in 250 + 750 ms
    item = sample(0, [250.0, 750.0], tokens=10)
    assert result(item).tokens_per_s == pytest.approx(20.0)
    assert result(sample(0, [0.0], tokens=3)).tokens_per_s == 0.0


def test_cost_from_pricing() -> None:
    priced = result(pricing=Pricing(input_per_1m=1.0, output_per_1m=2.0))
    # 20 input tokens at $1/1M + 6 output tokens at $2/1M
    assert priced.cost_usd == pytest.approx(32e-6)
    assert result().cost_usd == 0.0
    assert Pricing(3.0, 15.0).cost_usd(1_000_000, 1_000_000) == pytest.approx(18.0)


def test_max_new_tokens_hit_rate_is_the_share_of_runs() -> None:
    assert result().max_new_tokens_hit_rate == pytest.approx(2 / 6)


def test_accuracy_over_scored_prompts() -> None:
    scored = result(
        sample(0, [1.0], correct=True),
        sample(1, [1.0], correct=False),
        sample(2, [1.0], correct=None),
        sample(3, [1.0], correct=True),
    )
    assert scored.accuracy == pytest.approx(2 / 3)
    assert result().accuracy is None


def test_texts() -> None:
    both = result(sample(0, [1.0], text="first"), sample(1, [1.0], text="second"))
    assert both.texts == ["first", "second"]
    assert both.text == "first"


def test_combine_joins_samples_and_keeps_the_peak_memory() -> None:
    pricing = Pricing(1.0, 1.0)
    first = GenerationResult((A,), 300.0, pricing, 90.0)
    second = GenerationResult((B,), 700.0, Pricing(), 95.0)
    combined = GenerationResult.combine([first, second])
    assert combined.samples == (A, B)
    assert combined.peak_memory_mb == 700.0
    assert combined.pricing == pricing
    assert combined.latency_percentile == 90.0
    assert combined.latency_ms == result().latency_ms


def test_combine_of_nothing_raises() -> None:
    with pytest.raises(ValueError, match="at least one"):
        GenerationResult.combine([])


def test_token_sources_merge_by_their_parts() -> None:
    both = TokenCount("server usage").merged(TokenCount("tokenizer"))
    assert both.source == "server usage and tokenizer"
    assert both.merged(TokenCount("server usage")).source == "server usage and tokenizer"
    checked = TokenCount.of("server usage", 9, 6).merged(TokenCount.of("server usage", 5, 5))
    assert (checked.checked, checked.mismatched, checked.largest_difference) == (2, 1, 3)
