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
    from pytest_llmperf.results import GenerationResult, PromptSample, Run


@dataclass(frozen=True)
class Unit:
    """How a figure is written: its symbol and number format."""

    symbol: str
    # decimal | ratio | money | share | scaled (k, M, G, T prefixes) | whole (a count)
    style: str = "decimal"

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
        if self.style == "scaled":
            return _scaled(value, self.symbol, digits, exact)
        if self.style == "whole":
            return f"{number(value, decimals=0)} {self.symbol}"
        return f"{number(value, digits, trim=exact)} {self.symbol}"


_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _scaled(value: float, symbol: str, digits: int, exact: bool) -> str:
    """'250 MFLOP', '1.23 GFLOP': a count too large to read digit by digit, with the SI
    prefix that leaves one to three digits before the point."""
    for size, prefix in _PREFIXES:
        if abs(value) >= size:
            return f"{number(value / size, digits, trim=exact)} {prefix}{symbol}"
    return f"{number(value, digits, trim=exact)} {symbol}"


MS = Unit("ms")
TOKENS = Unit("tok")
MEGABYTES = Unit("MB")
DOLLARS = Unit("$", "money")
SHARE = Unit("", "share")
REQUESTS_PER_S = Unit("req/s")
IN_FLIGHT = Unit("in flight", "whole")
TOKENS_PER_S = Unit("tok/s")
RATIO = Unit("x", "ratio")
FLOPS = Unit("FLOP", "scaled")
FLOPS_PER_TOKEN = Unit("FLOP/tok", "scaled")


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
SAME_COMPUTE_SLOWER_REMEDY = (
    "same compute per token, slower: a kernel or dtype problem, not the model's size (check "
    "the dtype, the attention implementation, and that the weights are on the device)"
)
QUANTIZE_REMEDY = (
    "quantize the candidate (int8, 4-bit) or load it in bfloat16/float16 (--llm-dtype)"
)
ERROR_REMEDY = (
    "requests failed under this load: see the errors listed; lower the load or give the "
    "server more capacity (replicas, batch size, KV-cache memory)"
)
QUALITY_REMEDY = (
    "check the fine-tuning data and schedule: the candidate answers fewer prompts right"
)
SLO_REMEDY = (
    "fewer requests met the per-request SLO than the floor asks: lower the load, give the "
    "server more capacity (replicas, batch size, KV-cache memory), or make each request "
    "cheaper (a smaller or quantized model, shorter answers: cap max_new_tokens)"
)
CAPACITY_REMEDY = (
    "the model holds the SLO at a lower load than the floor asks: make each request "
    "cheaper (a smaller or quantized model, shorter answers: cap max_new_tokens), or give the "
    "server more room (replicas, batch size, KV-cache memory)"
)
NO_SLO = (
    "no {figure} was measured: give generate() a per-request SLO beside the load, e.g. "
    "generate(prompts, rate=5, slo_ttft_ms=500, slo_latency_ms=2000)"
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


def _flops_per_token(result: GenerationResult) -> float | None:
    return result.flops_per_token


def _weights(result: GenerationResult) -> float | None:
    return result.weights_mb


def _kv_cache(result: GenerationResult) -> float | None:
    return result.kv_cache_mb


def _generation_memory(result: GenerationResult) -> float | None:
    return result.generation_memory_mb


def _model_grew(ratio: float) -> str:
    return (
        f"more compute per token: the model grew ({number(ratio)}x the baseline's FLOPs per "
        "token); distil or prune it, fine-tune a smaller base, or quantize it where int8 "
        "kernels pay off (a GPU)"
    )


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
        return _quantized_slower(context)
    if per_token and (compute := context.ratio(_flops_per_token)) is not None:
        # The counted FLOPs tell a bigger model from the same model run less well.
        return _model_grew(compute) if compute > GREW else SAME_COMPUTE_SLOWER_REMEDY
    if per_token or context.baseline is None:
        return SPEED_REMEDY
    return NO_CAUSE_REMEDY


def _quantized_slower(context: RemedyContext) -> str:
    """Quantized and slower: what quantization saved (the weights) beside what it did not
    (the compute per token), when both models' figures show them."""
    weights, compute = context.ratio(_weights), context.ratio(_flops_per_token)
    if weights is None or compute is None:
        return QUANTIZED_SPEED_REMEDY
    return (
        f"the candidate is already quantized and still slower: its weights take "
        f"{number(weights)}x the baseline's memory, but each token costs {number(compute)}x "
        "its compute, and on this hardware int8 adds work rather than saving it; prune or "
        "distil the model, or serve it where int8 kernels pay off (a GPU)"
    )


def _flops_remedy(context: RemedyContext) -> str:
    """More FLOPs per token or per request: a bigger model, or longer requests."""
    compute = context.grew(_flops_per_token)
    if compute:
        return _model_grew(compute)
    tokens = context.grew(_output_tokens)
    if tokens:
        return _longer_answers(tokens)
    if context.grew(_input_tokens):
        return PROMPT_REMEDY
    if context.baseline is None:
        return (
            "the model does more work per request than the limit: distil or prune it, shorten "
            "the prompts, or cap max_new_tokens"
        )
    return NO_CAUSE_REMEDY


def _weights_text(ratio: float) -> str:
    return f"weights {number(ratio)}x larger: {QUANTIZE_REMEDY}"


def _weights_remedy(context: RemedyContext) -> str:
    ratio = context.grew(_weights)
    if ratio:
        return _weights_text(ratio)
    if context.candidate_quantized:
        return "the weights are already quantized: prune or distil the model"
    return QUANTIZE_REMEDY


def _kv_cache_remedy(context: RemedyContext) -> str:
    """A larger KV cache: longer requests, or more of it per token (layers, heads, dtype)."""
    tokens = context.grew(_output_tokens)
    if tokens:
        return _longer_answers(tokens)
    if context.grew(_input_tokens):
        return PROMPT_REMEDY
    return (
        "more KV cache per token: more layers or key/value heads, or a wider dtype; load it in "
        "bfloat16/float16 (--llm-dtype) or use grouped-query attention"
    )


def _memory_remedy(context: RemedyContext) -> str:
    """More memory in use: the weights when they grew, else what generating holds."""
    weights = context.grew(_weights)
    if weights:
        return _weights_text(weights)
    if context.grew(_kv_cache):
        return _kv_cache_remedy(context)
    if context.grew(_generation_memory):
        return (
            "generating holds more memory (activations, KV cache) while the weights are no "
            f"larger: cap max_new_tokens or lower the batch size; {MEMORY_REMEDY}"
        )
    return MEMORY_REMEDY


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


def answer_score(sample: PromptSample) -> float | None:
    """One answer's score: a graded scorer's, else 1.0 right and 0.0 wrong; None unscored."""
    return sample.scored


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
    ranked: bool = False  # a trade-off figure of the candidates' ranking
    higher_is_better: bool = False  # for the ranking's Pareto front and best pick
    # When two candidates' figures count as equal in the ranking: `runs_key` names the
    # record's per-run values, whose run-to-run spread is the figure's noise; `tolerance`
    # is a relative difference too small to tell for a figure read once with no spread
    # kept (0: the figure is exact, e.g. counted tokens).
    runs_key: str = ""
    tolerance: float = 0.0
    # A figure scored per answer (accuracy): one answer's score in [0, 1], None when it was
    # not scored. Its limits are judged on answers paired by question (judge/quality.py).
    per_question: Callable[[PromptSample], float | None] | None = None
    # A share of requests that met a condition: (met, requests), for its exact binomial
    # (Clopper-Pearson) interval. Floors on it are judged on that interval.
    binomial: Callable[[GenerationResult], tuple[int, int] | None] | None = None
    # Judged against a per-request SLO: not judged when the client's own lag was too large
    # for the SLO (the run is client-bound).
    slo_bound: bool = False
    # A capacity found by a search: (highest rate shown to hold, lowest shown not to). Its
    # limits are judged on that bracket (judge/capacity.py), never on the figure alone.
    bracket: Callable[[GenerationResult], tuple[float | None, float | None] | None] | None = None
    # A ratio has no unit: where a result has no figure of this metric but one of the metric
    # named here (a capacity searched by concurrency, not by rate), a ratio limit on this
    # metric is judged on that one.
    ratio_stand_in: str = ""

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


_SERVED = (
    "no {figure} was measured: not measured for a served model (an endpoint holds its model "
    "on the server, out of the plugin's reach)"
)


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
        ranked=True,
        higher_is_better=True,
        per_question=answer_score,
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
        ranked=True,
        runs_key="latencies_ms",
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
        ranked=True,
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
        ranked=True,
    ),
    Metric(
        "memory",
        "peak memory",
        "peak_memory_mb",
        MEGABYTES,
        lambda result: result.peak_memory_mb,
        per_run=lambda run: run.peak_memory_mb,
        hardware_bound=True,
        remedy=_memory_remedy,
        unmeasured=_SERVED.format(figure="memory") + "; watch it there (e.g. vLLM's /metrics)",
        ranked=True,
        # A high-water mark read once per call, from the CUDA allocator (block rounding and
        # caching) or the process's resident set (4 KiB pages, the malloc arenas): it moves
        # by a percent or two between calls of the same model, and records keep no spread.
        tolerance=0.02,
    ),
    Metric(
        "generation_memory",
        "generation memory",
        "generation_memory_mb",
        MEGABYTES,
        _generation_memory,
        per_run=lambda run: run.generation_memory_mb,
        hardware_bound=True,
        unmeasured=_SERVED.format(figure="memory"),
    ),
    # Machine-independent figures: exact, compared against a snapshot from any hardware.
    Metric(
        "weights",
        "weights",
        "weights_mb",
        MEGABYTES,
        _weights,
        remedy=_weights_remedy,
        unmeasured=_SERVED.format(figure="weights"),
        in_summary=True,
        ranked=True,
    ),
    Metric(
        "kv_cache",
        "KV cache/request",
        "kv_cache_mb",
        MEGABYTES,
        _kv_cache,
        remedy=_kv_cache_remedy,
        unmeasured=_SERVED.format(figure="KV cache"),
    ),
    Metric(
        "flops_per_token",
        "FLOPs/token",
        "flops_per_token",
        FLOPS_PER_TOKEN,
        _flops_per_token,
        remedy=_flops_remedy,
        unmeasured=_SERVED.format(figure="FLOPs"),
        in_summary=True,
        ranked=True,
    ),
    Metric(
        "flops",
        "FLOPs/request",
        "flops",
        FLOPS,
        lambda result: result.flops,
        remedy=_flops_remedy,
        unmeasured=_SERVED.format(figure="FLOPs"),
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
        hardware_bound=True,  # a rate of this machine (or server): not one of another
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
        hardware_bound=True,
        remedy=_always(THROUGHPUT_REMEDY),
        unmeasured="no throughput was measured: generate in batches in process, e.g. "
        "generate(prompts, batch_size=8), or send a served model's requests under load, e.g. "
        "generate(prompts, concurrency=8)",
    ),
    Metric(
        "slo_attainment",
        "SLO attainment",
        "slo_attainment",
        SHARE,
        lambda result: result.slo_attainment,
        remedy=_always(SLO_REMEDY),
        unmeasured=NO_SLO.format(figure="SLO attainment"),
        higher_is_better=True,
        binomial=lambda result: result.slo_counts,
        slo_bound=True,
    ),
    Metric(
        "goodput",
        "goodput (requests/s within SLO)",
        "goodput_rps",
        REQUESTS_PER_S,
        lambda result: result.goodput_rps,
        hardware_bound=True,
        remedy=_always(SLO_REMEDY),
        unmeasured=NO_SLO.format(figure="goodput"),
        higher_is_better=True,
        slo_bound=True,
    ),
    Metric(
        "capacity",
        "capacity (requests/s at the SLO)",
        "capacity_rps",
        REQUESTS_PER_S,
        lambda result: result.capacity_rps,
        hardware_bound=True,
        remedy=_always(CAPACITY_REMEDY),
        unmeasured="no capacity in requests/s was searched: give generate() capacity=True and "
        "a per-request SLO, e.g. generate(prompts, capacity=True, slo_latency_ms=2000), on a "
        "served model (a search with capacity_by='concurrency' is judged by "
        "min_capacity_concurrency)",
        ranked=True,
        higher_is_better=True,
        bracket=lambda result: result.capacity_bracket("rate"),
        ratio_stand_in="capacity_concurrency",
    ),
    Metric(
        "capacity_concurrency",
        "capacity (requests in flight at the SLO)",
        "capacity_concurrency",
        IN_FLIGHT,
        lambda result: result.capacity_concurrency,
        hardware_bound=True,
        remedy=_always(CAPACITY_REMEDY),
        unmeasured="no capacity in requests in flight was searched: give generate() "
        "capacity=True, capacity_by='concurrency' and a per-request SLO, e.g. "
        "generate(prompts, capacity=True, capacity_by='concurrency', slo_latency_ms=2000), on "
        "a served model (a search by rate is judged by min_capacity_rps)",
        ranked=True,
        higher_is_better=True,
        bracket=lambda result: result.capacity_bracket("concurrency"),
    ),
    Metric(
        "client_lag",
        "client lag p95",
        "client_lag_ms",
        MS,
        lambda result: result.client_lag_ms,
        hardware_bound=True,
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
RANKED_FIGURES: tuple[str, ...] = tuple(metric.name for metric in METRICS if metric.ranked)


def metric_named(name: str) -> Metric:
    return METRICS_BY_NAME[name]
