"""Measurements as small value objects: one run, one prompt's runs, one generate call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Run:
    """One measured request: a single prompt generated once."""

    latency_ms: float
    ttft_ms: float | None
    output_tokens: int
    hit_max_new_tokens: bool
    peak_memory_mb: float | None = None  # weights + the call's high-water mark above its start

    @property
    def tpot_ms(self) -> float | None:
        """Time per output token after the first, or None when it cannot be told."""
        if self.ttft_ms is None or self.output_tokens < 2:
            return None
        return (self.latency_ms - self.ttft_ms) / (self.output_tokens - 1)


@dataclass(frozen=True)
class PromptSample:
    """One prompt's measured runs (one per repeat) and what the model answered."""

    prompt_index: int
    input_tokens: int
    text: str
    runs: tuple[Run, ...]
    correct: bool | None = None

    @property
    def latency_ms(self) -> float:
        return float(np.median([run.latency_ms for run in self.runs]))

    @property
    def ttft_ms(self) -> float | None:
        values = [run.ttft_ms for run in self.runs if run.ttft_ms is not None]
        return float(np.median(values)) if values else None

    @property
    def output_tokens(self) -> float:
        return float(np.mean([run.output_tokens for run in self.runs]))


@dataclass(frozen=True)
class Pricing:
    """US dollars per one million input and output tokens."""

    input_per_1m: float = 0.0
    output_per_1m: float = 0.0

    def cost_usd(self, input_tokens: float, output_tokens: float) -> float:
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


@dataclass(frozen=True)
class GenerationResult:
    """What `generate` returns: one sample per prompt and aggregates per request over them.

    Latency figures are over every measured run of every prompt (prompts x repeats);
    token figures are means per request.
    """

    samples: tuple[PromptSample, ...]
    peak_memory_mb: float
    pricing: Pricing = field(default_factory=Pricing)
    latency_percentile: float = 95.0

    @classmethod
    def combine(cls, results: Sequence[GenerationResult]) -> GenerationResult:
        """One result over the samples of several calls (a test's whole workload)."""
        if not results:
            raise ValueError("combine needs at least one result")
        return cls(
            samples=tuple(sample for result in results for sample in result.samples),
            peak_memory_mb=max(result.peak_memory_mb for result in results),
            pricing=results[0].pricing,
            latency_percentile=results[0].latency_percentile,
        )

    def extended(self, more: GenerationResult) -> GenerationResult:
        """This result with the runs of a later measurement of the same prompts appended."""
        if len(more.samples) != len(self.samples):
            raise ValueError("extended needs a result for the same prompts")
        samples = tuple(
            replace(sample, runs=sample.runs + extra.runs, text=extra.text, correct=extra.correct)
            for sample, extra in zip(self.samples, more.samples, strict=True)
        )
        return replace(
            self, samples=samples, peak_memory_mb=max(self.peak_memory_mb, more.peak_memory_mb)
        )

    @property
    def runs(self) -> list[Run]:
        return [run for sample in self.samples for run in sample.runs]

    @property
    def latencies_ms(self) -> np.ndarray:
        return np.array([run.latency_ms for run in self.runs], dtype=float)

    @property
    def memories_mb(self) -> np.ndarray:
        return np.array(
            [r.peak_memory_mb for r in self.runs if r.peak_memory_mb is not None], dtype=float
        )

    @property
    def ttfts_ms(self) -> np.ndarray:
        return np.array([r.ttft_ms for r in self.runs if r.ttft_ms is not None], dtype=float)

    @property
    def texts(self) -> list[str]:
        return [sample.text for sample in self.samples]

    @property
    def text(self) -> str:
        """The answer to the first prompt: handy when `generate` was given one string."""
        return self.samples[0].text

    @property
    def latency_ms(self) -> float:
        """Median end-to-end latency per request."""
        return float(np.median(self.latencies_ms))

    @property
    def p95_latency_ms(self) -> float:
        return self.latency_at(95.0)

    def latency_at(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile))

    @property
    def sla_latency_ms(self) -> float:
        """End-to-end latency at the configured statistic (p95 unless set otherwise)."""
        return self.latency_at(self.latency_percentile)

    @property
    def ttft_ms(self) -> float | None:
        """Median time to first token, None when the backend could not stream."""
        values = self.ttfts_ms
        return float(np.median(values)) if values.size else None

    def ttft_at(self, percentile: float) -> float | None:
        values = self.ttfts_ms
        return float(np.percentile(values, percentile)) if values.size else None

    @property
    def tpot_ms(self) -> float | None:
        """Median time per output token after the first."""
        values = [run.tpot_ms for run in self.runs if run.tpot_ms is not None]
        return float(np.median(values)) if values else None

    @property
    def input_tokens(self) -> float:
        return float(np.mean([sample.input_tokens for sample in self.samples]))

    @property
    def output_tokens(self) -> float:
        return float(np.mean([sample.output_tokens for sample in self.samples]))

    @property
    def tokens_per_s(self) -> float:
        runs = self.runs
        seconds = sum(run.latency_ms for run in runs) / 1000
        return sum(run.output_tokens for run in runs) / seconds if seconds > 0 else 0.0

    @property
    def cost_usd(self) -> float:
        """Mean cost per request from the configured prices (0 when none are set)."""
        return self.pricing.cost_usd(self.input_tokens, self.output_tokens)

    @property
    def max_new_tokens_hit_rate(self) -> float:
        """Share of runs that stopped at max_new_tokens instead of ending by themselves."""
        runs = self.runs
        return sum(run.hit_max_new_tokens for run in runs) / len(runs)

    @property
    def accuracy(self) -> float | None:
        """Share of prompts whose answer contained the expected text, None without `expected`."""
        scored = [sample.correct for sample in self.samples if sample.correct is not None]
        return sum(scored) / len(scored) if scored else None
