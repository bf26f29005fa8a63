"""Measurements as small value objects: one run, one prompt's runs, one generate call."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pytest_llmperf.prompts import text_digest
from pytest_llmperf.text import EXACT, number


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
    prompt: str = ""  # as the test gave it; "" when unknown (a snapshot keeps only its hash)
    expected: str | None = None  # the expected answer it was scored against

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

    @property
    def is_set(self) -> bool:
        return bool(self.input_per_1m or self.output_per_1m)

    def cost_usd(self, input_tokens: float, output_tokens: float) -> float:
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


@dataclass(frozen=True)
class TokenCount:
    """Where the output token counts came from, and how a second count agreed with them.

    source: "generate" (the token ids an in-process model produced), "server usage" (an
    endpoint's reported usage) or "tokenizer" (the model's tokenizer on the answer's text).
    When a server reports usage and a tokenizer is at hand, both are counted: `checked`
    requests, `mismatched` of them differing, by at most `largest_difference` tokens.
    """

    source: str = "generate"
    checked: int = 0
    mismatched: int = 0
    largest_difference: int = 0

    @classmethod
    def of(cls, source: str, output_tokens: int, second_count: int | None) -> TokenCount:
        """One request's count, checked against the tokenizer's `second_count` if any."""
        if second_count is None:
            return cls(source)
        difference = abs(output_tokens - second_count)
        return cls(source, 1, int(difference > 0), difference)

    def merged(self, other: TokenCount) -> TokenCount:
        # A merged source reads "server usage and tokenizer": its parts, not its text, count.
        sources = sorted({*self.source.split(" and "), *other.source.split(" and ")})
        return TokenCount(
            source=" and ".join(sources),
            checked=self.checked + other.checked,
            mismatched=self.mismatched + other.mismatched,
            largest_difference=max(self.largest_difference, other.largest_difference),
        )

    def describe(self) -> str:
        if self.source == "generate":
            return ""
        text = f"output tokens counted from {self.source}"
        if self.checked and self.mismatched:
            text += (
                f"; the tokenizer's count differs on {self.mismatched} of {self.checked} "
                f"requests (by up to {self.largest_difference} tokens)"
            )
        elif self.checked:
            text += f"; the tokenizer agrees on all {self.checked} requests"
        return text


@dataclass(frozen=True)
class LoadFigures:
    """Requests sent under load: how many, how many failed, over how long."""

    concurrency: int | None
    rate_per_s: float | None
    requests: int
    errors: int
    wall_seconds: float
    output_tokens: int
    error_examples: tuple[str, ...] = ()

    def merged(self, other: LoadFigures) -> LoadFigures:
        return replace(
            self,
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            wall_seconds=self.wall_seconds + other.wall_seconds,
            output_tokens=self.output_tokens + other.output_tokens,
            error_examples=(self.error_examples + other.error_examples)[:3],
        )

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def requests_per_s(self) -> float:
        """Completed requests per second of wall time."""
        done = self.requests - self.errors
        return done / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def describe(self) -> str:
        level = (
            f"concurrency {self.concurrency}"
            if self.concurrency is not None
            else f"{number(self.rate_per_s, EXACT, trim=True)} requests/s offered"
        )
        return (
            f"under load ({level}): {self.requests:,} requests in {number(self.wall_seconds)} s, "
            f"{number(self.requests_per_s)} requests/s, {number(self.output_tokens_per_s)} "
            f"output tokens/s, {self.errors:,} failed ({self.error_rate:.1%})"
        )


@dataclass(frozen=True)
class BatchFigures:
    """Prompts generated in process in batches of `batch_size`: the batches' wall time and
    the output tokens and requests they completed."""

    batch_size: int
    batches: int
    requests: int
    wall_seconds: float
    output_tokens: int

    def merged(self, other: BatchFigures) -> BatchFigures:
        return replace(
            self,
            batches=self.batches + other.batches,
            requests=self.requests + other.requests,
            wall_seconds=self.wall_seconds + other.wall_seconds,
            output_tokens=self.output_tokens + other.output_tokens,
        )

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def describe(self) -> str:
        return (
            f"in batches of {self.batch_size}: {self.requests:,} requests in "
            f"{number(self.wall_seconds)} s, {number(self.requests_per_s)} requests/s, "
            f"{number(self.output_tokens_per_s)} output tokens/s"
        )


def largest_known(values: Iterable[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def _merge_optional(first, second):  # type: ignore[no-untyped-def]
    if first is None:
        return second
    if second is None:
        return first
    return first.merged(second)


@dataclass(frozen=True)
class GenerationResult:
    """What `generate` returns: one sample per prompt and aggregates per request over them.

    Latency figures are over every measured run of every prompt (prompts x repeats);
    token figures are means per request.
    """

    samples: tuple[PromptSample, ...]
    peak_memory_mb: float | None  # None: not measurable here (a model served elsewhere)
    pricing: Pricing = field(default_factory=Pricing)
    latency_percentile: float = 95.0
    token_count: TokenCount = field(default_factory=TokenCount)
    load: LoadFigures | None = None  # set when the requests were sent under load
    batches: BatchFigures | None = None  # set when generated in process in batches
    # sha256 of the prompts as the model was given them, set when a call had conversations:
    # their chat template's rendering (None where a server renders them out of sight).
    rendered_sha256: str | None = None

    @classmethod
    def combine(cls, results: Sequence[GenerationResult]) -> GenerationResult:
        """One result over the samples of several calls (a test's whole workload)."""
        if not results:
            raise ValueError("combine needs at least one result")
        token_count, load = results[0].token_count, results[0].load
        batches = results[0].batches
        for result in results[1:]:
            token_count = token_count.merged(result.token_count)
            load = _merge_optional(load, result.load)
            batches = _merge_optional(batches, result.batches)
        rendered = [result.rendered_sha256 for result in results]
        return cls(
            samples=tuple(sample for result in results for sample in result.samples),
            peak_memory_mb=largest_known(result.peak_memory_mb for result in results),
            pricing=results[0].pricing,
            latency_percentile=results[0].latency_percentile,
            token_count=token_count,
            load=load,
            batches=batches,
            rendered_sha256=None
            if all(digest is None for digest in rendered)
            else text_digest([str(digest) for digest in rendered]),
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
            self,
            samples=samples,
            peak_memory_mb=largest_known((self.peak_memory_mb, more.peak_memory_mb)),
            token_count=self.token_count.merged(more.token_count),
            load=_merge_optional(self.load, more.load),
            batches=_merge_optional(self.batches, more.batches),
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
    def error_rate(self) -> float:
        """Share of requests that failed; 0 outside load, where a failed request stops the test."""
        return self.load.error_rate if self.load is not None else 0.0

    @property
    def requests_per_s(self) -> float | None:
        """Completed requests per second under load or over in-process batches; None when
        the requests ran one at a time."""
        if self.load is not None:
            return self.load.requests_per_s
        return self.batches.requests_per_s if self.batches is not None else None

    @property
    def throughput_tokens_per_s(self) -> float | None:
        """Output tokens per second of wall time under load or over in-process batches;
        None when the requests ran one at a time."""
        if self.load is not None:
            return self.load.output_tokens_per_s
        return self.batches.output_tokens_per_s if self.batches is not None else None

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
