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
    """What a remedy may look at: both models' results (each with its prices per token) and
    the candidate's form. A remedy names a cause only when these figures show it."""

    candidate: GenerationResult
    baseline: GenerationResult | None
    candidate_quantized: bool = False

    def ratio(self, figure: Callable[[GenerationResult], float | None]) -> float | None:
        """candidate / baseline of `figure`; None without a baseline or a positive figure."""
        if self.baseline is None:
            return None
        baseline, candidate = figure(self.baseline), figure(self.candidate)
        if baseline is None or candidate is None or baseline <= 0:
            return None
        return candidate / baseline

    def grew(self, figure: Callable[[GenerationResult], float | None]) -> float | None:
        """The ratio of `figure` when it grew enough to be named as a cause, else None."""
        ratio = self.ratio(figure)
        return ratio if ratio is not None and ratio > GREW else None


Remedy = Callable[[RemedyContext], str]

GREW = 1.02  # a figure that grew less than this is not named as a cause

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
PROMPT_REMEDY = (
    "the candidate's prompts are longer (a longer chat template or system prompt): it reads "
    "more tokens per request; shorten the template or the system prompt"
)
LENGTH_REMEDY = (
    "the answers are longer than the limit (no baseline shows whether they grew): cap "
    "max_new_tokens, or train on shorter targets"
)
COST_REMEDY = (
    "a request costs more than the limit (no baseline shows why): shorter answers (cap "
    "max_new_tokens, train on shorter targets) or a lower price per token"
)
NO_CAUSE_REMEDY = (
    "the figures show no cause: answers are about as long and each token takes about as long "
    "as the baseline's; the difference is more likely the machine or noise than the model. "
    "Measure both in alternating pairs on a quiet machine before changing the model"
)
MEMORY_REMEDY = "quantize the candidate or load it in bfloat16/float16 (--llm-dtype)"
ERROR_REMEDY = (
    "requests failed under this load: see the errors listed; lower the load or give the "
    "server more capacity (replicas, batch size, KV-cache memory)"
)
QUALITY_REMEDY = (
    "check the fine-tuning data and schedule: the candidate answers fewer prompts right"
)
THROUGHPUT_REMEDY = (
    "fewer requests or tokens complete per second than the floor asks: give the server more "
    "capacity (replicas, batch size, KV-cache memory) or batch more prompts in process, or "
    "use a faster model (quantized, distilled)"
)


def _always(text: str) -> Remedy:
    return lambda context: text


def _ms_per_output_token(result: GenerationResult) -> float | None:
    return result.latency_ms / result.output_tokens if result.output_tokens > 0 else None


def _output_tokens(result: GenerationResult) -> float:
    return result.output_tokens


def _input_tokens(result: GenerationResult) -> float:
    return result.input_tokens


def _longer_answers(tokens: float) -> str:
    return (
        f"{VERBOSITY_REMEDY} (its answers are {number(tokens)}x as long, and latency grows "
        "with the number of tokens generated)"
    )


def _latency_remedy(context: RemedyContext) -> str:
    """Slower: latency is answer length times time per token; the factor that grew more is
    named (longer answers, or a slower model); neither: nothing in the figures explains it."""
    tokens = context.grew(_output_tokens) or 0.0
    per_token = context.grew(_ms_per_output_token) or 0.0
    if tokens and tokens >= per_token:
        return _longer_answers(tokens)
    if context.candidate_quantized:
        return QUANTIZED_SPEED_REMEDY
    if per_token or context.baseline is None:
        return SPEED_REMEDY
    return NO_CAUSE_REMEDY


def _first_token_remedy(context: RemedyContext) -> str:
    """Slower to the first token: longer prompts explain it when they grew; else the model
    reads the same prompt more slowly."""
    if context.grew(_input_tokens):
        return PROMPT_REMEDY
    return QUANTIZED_SPEED_REMEDY if context.candidate_quantized else SPEED_REMEDY


def _tokens_remedy(context: RemedyContext) -> str:
    """More output tokens: verbosity when they grew against the baseline; a budget below
    what both models write when they did not."""
    if context.baseline is None:
        return LENGTH_REMEDY
    if not context.grew(_output_tokens):
        return (
            f"the baseline's answers are as long ({number(context.baseline.output_tokens)} tok): "
            "the limit is below what both models write; cap max_new_tokens or raise the limit"
        )
    return VERBOSITY_REMEDY


def _price_text(context: RemedyContext) -> str:
    """'its price per token is higher (...)' when the candidate's prices are; else ''."""
    assert context.baseline is not None
    base, cand = context.baseline.pricing, context.candidate.pricing
    risen = [
        f"${number(new, 6, trim=True)} vs ${number(old, 6, trim=True)} per 1M {kind} tokens"
        for kind, new, old in (
            ("input", cand.input_per_1m, base.input_per_1m),
            ("output", cand.output_per_1m, base.output_per_1m),
        )
        if new > old
    ]
    if not risen:
        return ""
    return (
        f"its price per token is higher ({', '.join(risen)}): serve it where tokens cost less, "
        "or set the budget for its price"
    )


def _cost_remedy(context: RemedyContext) -> str:
    """Costlier: each cause the figures show, from the tokens and the prices of each model."""
    if context.baseline is None:
        return COST_REMEDY
    causes = [
        VERBOSITY_REMEDY if context.grew(_output_tokens) else "",
        PROMPT_REMEDY if context.grew(_input_tokens) else "",
        _price_text(context),
    ]
    # Longer answers alone read as the tokens limit's remedy does: one line for both.
    return "; ".join(filter(None, causes)) or NO_CAUSE_REMEDY


def _quality_remedy(context: RemedyContext) -> str:
    """Fewer right answers than the baseline's: the fine-tuning; a floor above what the
    baseline reaches too: the floor, the answers or the scorer."""
    baseline = None if context.baseline is None else context.baseline.accuracy
    candidate = context.candidate.accuracy
    if baseline is not None and candidate is not None and candidate >= baseline:
        return (
            f"the baseline scores no better ({SHARE.format(baseline)}): the floor is above what "
            "either model reaches; check the expected answers and the scorer, or lower the floor"
        )
    return QUALITY_REMEDY


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
        remedy=_quality_remedy,
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
        remedy=_latency_remedy,
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
        remedy=_first_token_remedy,
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
        remedy=_tokens_remedy,
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
        remedy=_cost_remedy,
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
    # Requests sent under load (an endpoint model's concurrency or rate), or in process in
    # batches (batch_size) for the throughput figures.
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
        remedy=_always(THROUGHPUT_REMEDY),
        unmeasured="no throughput was measured: generate in batches in process, e.g. "
        "generate(prompts, batch_size=8), or send a served model's requests under load, e.g. "
        "generate(prompts, concurrency=8)",
    ),
    Metric(
        "throughput_tokens",
        "output tokens/s (load or batches)",
        "throughput_tokens_per_s",
        TOKENS_PER_S,
        lambda result: result.throughput_tokens_per_s,
        remedy=_always(THROUGHPUT_REMEDY),
        unmeasured="no throughput was measured: generate in batches in process, e.g. "
        "generate(prompts, batch_size=8), or send a served model's requests under load, e.g. "
        "generate(prompts, concurrency=8)",
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
