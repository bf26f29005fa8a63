"""The metrics: one row per figure of a model's measurements.

A row says everything the plugin knows about a figure: its name in limits and verdicts, its
label and unit in reports, its key in report records, how it aggregates over a result, its
value per run (for statistical verdicts), its value at a percentile (for SLAs), whether it
depends on the hardware or on answers of natural length, and the likely remedy when a
candidate goes over a limit on it. Limits (limits.py), verdicts, every report and the plots
read these rows; adding a metric means adding a row here and its measurement, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_llmperf.text import EXACT, SIGNIFICANT, number

if TYPE_CHECKING:
    from pytest_llmperf.results import GenerationResult, Run


@dataclass(frozen=True)
class Unit:
    """How a figure is written: its symbol and number format."""

    symbol: str
    style: str = "decimal"  # decimal | ratio | money | share

    def format(self, value: float | None, *, exact: bool = False) -> str:
        """`value` in this unit for people (text.number): three significant digits for a
        measured figure; `exact` for a number a person wrote (a budget), shown as written."""
        if value is None:
            return "-"
        digits = EXACT if exact else SIGNIFICANT
        if self.style == "ratio":
            return f"{number(value, digits, trim=exact)}x"
        if self.style == "money":
            if abs(value) >= 1 and not exact:
                return f"${number(value, decimals=2)}"
            return f"${number(value, digits, trim=exact)}"
        if self.style == "share":
            return number(value, digits, trim=True) if exact else number(value, decimals=3)
        return f"{number(value, digits, trim=exact)} {self.symbol}"


MS = Unit("ms")
TOKENS = Unit("tok")
MEGABYTES = Unit("MB")
DOLLARS = Unit("$", "money")
SHARE = Unit("", "share")
REQUESTS_PER_S = Unit("req/s")
TOKENS_PER_S = Unit("tok/s")
RATIO = Unit("x", "ratio")


@dataclass(frozen=True)
class RemedyContext:
    """What a remedy may look at: both models' results and the candidate's form."""

    candidate: GenerationResult
    baseline: GenerationResult | None
    candidate_quantized: bool = False


Remedy = Callable[[RemedyContext], str]

SPEED_REMEDY = (
    "the candidate is slower per token while its answers are no longer: quantize it "
    "(dynamic int8, 4-bit), prune or distil it, or serve it on faster hardware"
)
VERBOSITY_REMEDY = (
    "the candidate learned to answer at greater length: fine-tune for fewer epochs, train on "
    "shorter targets, or cap max_new_tokens"
)
QUANTIZED_SPEED_REMEDY = (
    "the candidate is already quantized and still slower: on this hardware quantization adds "
    "work rather than saving it; prune or distil the model, or serve it where int8 kernels "
    "pay off (a GPU)"
)
MEMORY_REMEDY = "quantize the candidate or load it in bfloat16/float16 (--llm-dtype)"
ERROR_REMEDY = (
    "requests failed under this load: see the errors listed; lower the load or give the "
    "server more capacity (replicas, batch size, KV-cache memory)"
)
QUALITY_REMEDY = (
    "check the fine-tuning data and schedule: the candidate answers fewer prompts right"
)


def _always(text: str) -> Remedy:
    return lambda context: text


def _speed_remedy(context: RemedyContext) -> str:
    """Slower: longer answers explain it when they grew; else the work per token did."""
    baseline = context.baseline
    tokens_grew = (
        baseline is not None
        and baseline.output_tokens > 0
        and context.candidate.output_tokens / baseline.output_tokens > 1.1
    )
    if tokens_grew:
        return VERBOSITY_REMEDY + " (latency grows with the number of tokens generated)"
    return QUANTIZED_SPEED_REMEDY if context.candidate_quantized else SPEED_REMEDY


def _no_remedy(context: RemedyContext) -> str:
    return ""


@dataclass(frozen=True)
class Metric:
    """One figure of a model's measurements, and everything reports and verdicts need."""

    name: str  # what limits and verdict records call it, e.g. "latency"
    label: str  # how tables show it, e.g. "latency p50"
    key: str  # its key in a report record's figures, e.g. "latency_p50_ms"
    unit: Unit
    value: Callable[[GenerationResult], float | None]  # the figure over a whole result
    per_run: Callable[[Run], float | None] | None = None  # samples for statistical verdicts
    at_percentile: Callable[[GenerationResult, float], float | None] | None = None  # SLAs
    hardware_bound: bool = False  # depends on the machine: not compared across machines
    length_dependent: bool = False  # needs answers of natural length (not fixed_length)
    priced: bool = False  # needs prices per token
    remedy: Remedy = _no_remedy
    unmeasured: str = ""  # why a verdict on it has no figure, and how to get one
    in_summary: bool = False  # shown in the session summary's side-by-side table

    def central(self, result: GenerationResult) -> float | None:
        """What a ratio compares: the median of the per-run values when there are any,
        else the figure itself (a peak, a mean, a share)."""
        if self.per_run is not None:
            import numpy as np

            values = [v for run in result.runs if (v := self.per_run(run)) is not None]
            if values:
                return float(np.median(values))
        return self.value(result)

    def samples(self, result: GenerationResult) -> list[float | None]:
        """The per-run values, one per run (None where a run has none)."""
        assert self.per_run is not None, f"{self.name} has no per-run values"
        return [self.per_run(run) for run in result.runs]


def _under_load(figure: Callable[[GenerationResult], float | None]) -> Callable:
    return lambda result: None if result.load is None else figure(result)


METRICS: tuple[Metric, ...] = (
    Metric(
        "accuracy",
        "accuracy",
        "accuracy",
        SHARE,
        lambda result: result.accuracy,
        remedy=_always(QUALITY_REMEDY),
        unmeasured="no accuracy was measured: pass expected=[...] to generate(), one answer "
        "per prompt",
        in_summary=True,
    ),
    Metric(
        "latency",
        "latency p50",
        "latency_p50_ms",
        MS,
        lambda result: result.latency_ms,
        per_run=lambda run: run.latency_ms,
        at_percentile=lambda result, percentile: result.latency_at(percentile),
        hardware_bound=True,
        remedy=_speed_remedy,
        in_summary=True,
    ),
    Metric("latency_p95", "latency p95", "latency_p95_ms", MS, lambda r: r.latency_at(95.0)),
    Metric(
        "ttft",
        "ttft p50",
        "ttft_p50_ms",
        MS,
        lambda result: result.ttft_ms,
        per_run=lambda run: run.ttft_ms,
        at_percentile=lambda result, percentile: result.ttft_at(percentile),
        hardware_bound=True,
        remedy=_speed_remedy,
        unmeasured="no time to first token was measured (beam search cannot stream tokens)",
    ),
    Metric("tpot", "time per output token", "tpot_ms", MS, lambda result: result.tpot_ms),
    Metric("input_tokens", "input tokens", "input_tokens", TOKENS, lambda r: r.input_tokens),
    Metric(
        "output_tokens",
        "output tokens",
        "output_tokens",
        TOKENS,
        lambda result: result.output_tokens,
        length_dependent=True,
        remedy=_always(VERBOSITY_REMEDY),
        in_summary=True,
    ),
    Metric(
        "tokens_per_s",
        "output tokens/s",
        "tokens_per_s",
        TOKENS_PER_S,
        lambda result: result.tokens_per_s,
    ),
    Metric(
        "cost",
        "cost/request",
        "cost_usd",
        DOLLARS,
        # None when no prices are set: 0 would read as free.
        lambda result: result.cost_usd if result.pricing.is_set else None,
        length_dependent=True,
        priced=True,
        remedy=_always(VERBOSITY_REMEDY),
        in_summary=True,
    ),
    Metric(
        "memory",
        "peak memory",
        "peak_memory_mb",
        MEGABYTES,
        lambda result: result.peak_memory_mb,
        per_run=lambda run: run.peak_memory_mb,
        hardware_bound=True,
        remedy=_always(MEMORY_REMEDY),
        unmeasured="no memory was measured: a model served by an endpoint holds its memory on "
        "the server; watch it there (e.g. vLLM's /metrics)",
    ),
    # Requests sent under load (an endpoint model's concurrency or rate) only.
    Metric(
        "latency_p99_under_load",
        "latency p99",
        "latency_p99_ms_under_load",
        MS,
        _under_load(lambda result: result.latency_at(99.0)),
    ),
    Metric(
        "throughput",
        "requests/s",
        "requests_per_s",
        REQUESTS_PER_S,
        lambda result: result.requests_per_s,
        remedy=_always(SPEED_REMEDY),
        unmeasured="no throughput was measured: send the requests under load, e.g. "
        "generate(prompts, concurrency=8)",
    ),
    Metric(
        "output_tokens_per_s_under_load",
        "output tokens/s under load",
        "output_tokens_per_s_under_load",
        TOKENS_PER_S,
        _under_load(lambda result: result.load.output_tokens_per_s),
    ),
    Metric(
        "errors",
        "error rate",
        "error_rate",
        SHARE,
        _under_load(lambda result: result.error_rate),
        remedy=_always(ERROR_REMEDY),
    ),
)
METRICS_BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}


def metric_named(name: str) -> Metric:
    return METRICS_BY_NAME[name]
