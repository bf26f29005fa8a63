"""Measurements as small value objects: one run, one prompt's runs, one generate call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from pytest_llmperf.prompts import text_digest
from pytest_llmperf.text import EXACT, number, plural


@dataclass(frozen=True)
class Run:
    """One measured request: a single prompt generated once."""

    latency_ms: float
    ttft_ms: float | None
    output_tokens: int
    hit_max_new_tokens: bool
    peak_memory_mb: float | None = None  # the whole model in use: weights + generation_memory_mb
    generation_memory_mb: float | None = None  # the call's high-water mark above its start

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
    correct: bool | None = None  # a bool scorer's verdict; None unscored or graded
    prompt: str = ""  # as the test gave it; "" when unknown (a snapshot keeps only its hash)
    expected: str | None = None  # the expected answer it was scored against
    # The scorer's score from 0 to 1: 1.0 or 0.0 from a bool scorer, a graded score from
    # one that returns numbers; None unscored (then `correct`, if set, stands for it).
    score: float | None = None
    # Which question this is, to pair it with the other model's answer across processes:
    # the eval set's id, or the prompt's position in its call.
    question_id: str | None = None

    @property
    def scored(self) -> float | None:
        """The score, read from `correct` where only that was kept."""
        if self.score is not None:
            return self.score
        return None if self.correct is None else float(self.correct)

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


_MB = 1024 * 1024


@dataclass(frozen=True)
class ModelFigures:
    """What a model is and does apart from the machine it runs on: exact, the same on any
    hardware. None where it cannot be told (a model served by an endpoint).

    `counted_flops` are the floating-point operations torch's FlopCounterMode counted over
    the forward passes of one request, which read `counted_tokens` tokens (the prompt's and
    every generated token but the last, which is never fed back).
    """

    weights_mb: float | None = None
    kv_cache_bytes_per_token: float | None = None
    counted_flops: int | None = None
    counted_tokens: int | None = None

    def merged(self, other: ModelFigures) -> ModelFigures:
        """Two calls' figures of one model: counted FLOPs and tokens add up."""
        counted = (self.counted_flops, other.counted_flops)
        tokens = (self.counted_tokens, other.counted_tokens)
        both = None not in counted and None not in tokens
        return ModelFigures(
            weights_mb=largest_known((self.weights_mb, other.weights_mb)),
            kv_cache_bytes_per_token=largest_known(
                (self.kv_cache_bytes_per_token, other.kv_cache_bytes_per_token)
            ),
            counted_flops=sum(counted) if both else self.counted_flops or other.counted_flops,
            counted_tokens=sum(tokens) if both else self.counted_tokens or other.counted_tokens,
        )

    @property
    def flops_per_token(self) -> float | None:
        if not self.counted_flops or not self.counted_tokens:
            return None
        return self.counted_flops / self.counted_tokens


def tokens_read(input_tokens: float, output_tokens: float) -> float:
    """Tokens one request's forward passes read: the prompt, then each generated token but
    the last; also the tokens its KV cache holds at the end."""
    return input_tokens + max(output_tokens - 1, 0)


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


# A run whose client lag (p95) exceeds this share of the tightest SLO is client-bound: its
# sends were late enough to hide the server's queue, so its SLO figures are not judged.
CLIENT_BOUND_SHARE = 0.10


@dataclass(frozen=True)
class LoadFigures:
    """Requests sent under load: how many, how many failed, over how long; how many were
    held to a per-request SLO and met it; and the client's lag sending each one."""

    concurrency: int | None
    rate_per_s: float | None
    requests: int
    errors: int
    wall_seconds: float
    output_tokens: int
    error_examples: tuple[str, ...] = ()
    arrival: str = "constant"
    slo_requests: int = 0  # requests held to an SLO, failed ones included
    slo_met: int = 0  # of those, the ones that met every bound
    slo_tightest_ms: float | None = None  # the bound the client's lag is held against
    client_lags_ms: tuple[float, ...] = ()

    def merged(self, other: LoadFigures) -> LoadFigures:
        tightest = [ms for ms in (self.slo_tightest_ms, other.slo_tightest_ms) if ms is not None]
        return replace(
            self,
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            wall_seconds=self.wall_seconds + other.wall_seconds,
            output_tokens=self.output_tokens + other.output_tokens,
            error_examples=(self.error_examples + other.error_examples)[:3],
            slo_requests=self.slo_requests + other.slo_requests,
            slo_met=self.slo_met + other.slo_met,
            slo_tightest_ms=min(tightest) if tightest else None,
            client_lags_ms=tuple(self.client_lags_ms) + tuple(other.client_lags_ms),
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

    @property
    def slo_attainment(self) -> float | None:
        """The share of requests that met every SLO bound; None without an SLO."""
        return self.slo_met / self.slo_requests if self.slo_requests else None

    @property
    def goodput_rps(self) -> float | None:
        """Requests per second of wall time that met every SLO bound; None without an SLO."""
        if not self.slo_requests:
            return None
        return self.slo_met / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def client_lag_ms(self) -> float | None:
        """The client's lag sending a request, at its 95th percentile."""
        if not self.client_lags_ms:
            return None
        return float(np.percentile(np.asarray(self.client_lags_ms, dtype=float), 95.0))

    @property
    def client_bound(self) -> bool:
        """Whether the client's own lag (p95) exceeds CLIENT_BOUND_SHARE of the tightest SLO
        bound: the figures then describe the client as much as the server."""
        lag = self.client_lag_ms
        if lag is None or self.slo_tightest_ms is None:
            return False
        return lag > CLIENT_BOUND_SHARE * self.slo_tightest_ms

    def describe(self) -> str:
        if self.concurrency is not None:
            level = f"concurrency {self.concurrency}"
        else:
            arrival = "" if self.arrival == "constant" else f", {self.arrival} arrivals"
            level = f"{number(self.rate_per_s, EXACT, trim=True)} requests/s offered{arrival}"
        text = (
            f"under load ({level}): {self.requests:,} requests in {number(self.wall_seconds)} s, "
            f"{number(self.requests_per_s)} requests/s, {number(self.output_tokens_per_s)} "
            f"output tokens/s, {self.errors:,} failed ({self.error_rate:.1%})"
        )
        if self.slo_attainment is not None:
            text += (
                f"; {self.slo_met:,} of {self.slo_requests:,} met the SLO "
                f"({self.slo_attainment:.1%}), goodput {number(self.goodput_rps)} requests/s"
            )
        if self.client_lag_ms is not None:
            text += f"; client lag p95 {number(self.client_lag_ms)} ms"
        return text


@dataclass(frozen=True)
class CapacityStep:
    """One step of a capacity search: the rate sent, how many of its requests met the SLO,
    and what it showed (holds, misses, indeterminate, over-saturated, client-bound); the
    attainment's interval the step was decided on (95% Clopper-Pearson), its completed
    requests' p95 latency and time to first token, and the client's lag sending them (p95).
    None where not measured (a record written before these were kept, an untimed TTFT).
    `remeasured`: measured once more at its rate, the later measurement counting."""

    rate_rps: float
    requests: int
    met: int
    outcome: str
    low: float | None = None
    high: float | None = None
    latency_p95_ms: float | None = None
    ttft_p95_ms: float | None = None
    client_lag_ms: float | None = None
    remeasured: bool = False  # measured once more at its rate, the later measurement counting

    @property
    def attainment(self) -> float:
        return self.met / self.requests if self.requests else 0.0


# What a capacity search varied, and how its levels are written
CAPACITY_UNITS = {"rate": "requests/s", "concurrency": "in flight"}


@dataclass(frozen=True)
class CapacityFigures:
    """A capacity search's result (generate(..., capacity=True)): the highest rate shown to
    hold the SLO at `target` attainment (None: none was) and the lowest shown not to (None:
    every rate tried held, up to the search's cap), whether an indeterminate step lies
    between them, why the search stopped, its steps in order, and the per-request SLO held
    (generate()'s names: slo_latency_ms, ...). Searched `by` concurrency, the rates
    (`held_rps`, `failed_rps`, a step's `rate_rps`) are requests in flight instead."""

    target: float
    held_rps: float | None
    failed_rps: float | None
    indeterminate: bool
    stopped: str
    steps: tuple[CapacityStep, ...] = ()
    slo: Mapping[str, float] = field(default_factory=dict)
    by: str = "rate"

    def merged(self, other: CapacityFigures) -> CapacityFigures:
        """A test's capacity is its first search's: two searches are two answers, not runs."""
        return self

    @property
    def capacity_rps(self) -> float:
        """The figure: the highest rate shown to hold (0 when none was)."""
        return self.held_rps or 0.0

    def describe(self) -> str:
        """E.g. 'capacity 48.4 requests/s at 95% SLO attainment (held at 48.4, not at 50.6;
        8 steps, stopped at the precision; over-saturated at 100, 75; client lag p95 up to
        1.2 ms)', or 'capacity 6 in flight at ...' searched by concurrency."""
        held = self.level_text(self.capacity_rps)
        failed = "none tried" if self.failed_rps is None else self.level_text(self.failed_rps)
        text = (
            f"capacity {held} {self.unit} at {self.target:.0%} SLO attainment (held at {held}, not "
            f"at {failed}; {plural(len(self.steps), 'step')}, stopped at the {self.stopped}"
        )
        for outcome in ("over-saturated", "client-bound"):
            levels = dict.fromkeys(s.rate_rps for s in self.steps if s.outcome == outcome)
            if levels:
                text += f"; {outcome} at {', '.join(self.level_text(level) for level in levels)}"
        if self.indeterminate:
            text += "; indeterminate: a step between them straddled the target"
        lags = [step.client_lag_ms for step in self.steps if step.client_lag_ms is not None]
        if lags:
            text += f"; client lag p95 up to {number(max(lags))} ms"
        return text + ")"

    @property
    def unit(self) -> str:
        """What its levels count: 'requests/s', or 'in flight' searched by concurrency."""
        return CAPACITY_UNITS.get(self.by, self.by)

    def level_text(self, level: float) -> str:
        """A rate as figures are written; requests in flight as the whole number they are."""
        return number(level, decimals=0) if self.by == "concurrency" else number(level)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "held_rps": self.held_rps,
            "failed_rps": self.failed_rps,
            "indeterminate": self.indeterminate,
            "stopped": self.stopped,
            "steps": [asdict(step) for step in self.steps],
            "slo": dict(self.slo),
            "by": self.by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CapacityFigures:
        steps = tuple(CapacityStep(**step) for step in data.get("steps", ()))
        return cls(**{**data, "steps": steps})


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


def _distinct_ids(calls: Sequence[Sequence[PromptSample]]) -> tuple[PromptSample, ...]:
    """Several calls' samples in order; when two calls share a question id (two calls of
    inline prompts both number theirs from "0"), each id is prefixed with its call's number
    ("1:0", "2:0"), so that an id names one question of the test. Within a call an id may
    stand several times: several answers to one question (samples_per_question)."""
    samples = [sample for call in calls for sample in call]
    ids = [{s.question_id for s in call if s.question_id is not None} for call in calls]
    if len(set().union(*ids)) == sum(len(call_ids) for call_ids in ids):
        return tuple(samples)
    return tuple(
        sample
        if sample.question_id is None
        else replace(sample, question_id=f"{number}:{sample.question_id}")
        for number, call in enumerate(calls, start=1)
        for sample in call
    )


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
    figures: ModelFigures = field(default_factory=ModelFigures)
    batches: BatchFigures | None = None  # set when generated in process in batches
    # sha256 of the prompts as the model was given them, set when a call had conversations:
    # their chat template's rendering (None where a server renders them out of sight).
    rendered_sha256: str | None = None
    # The names of the scorers its answers were scored with, each once: "loglikelihood"
    # says the answers are choices ranked by likelihood, with nothing generated.
    scorers: tuple[str, ...] = ()
    capacity: CapacityFigures | None = None  # set by generate(..., capacity=True)

    @classmethod
    def combine(cls, results: Sequence[GenerationResult]) -> GenerationResult:
        """One result over the samples of several calls (a test's whole workload)."""
        if not results:
            raise ValueError("combine needs at least one result")
        token_count, load = results[0].token_count, results[0].load
        figures = results[0].figures
        batches, capacity = results[0].batches, results[0].capacity
        for result in results[1:]:
            capacity = _merge_optional(capacity, result.capacity)
            token_count = token_count.merged(result.token_count)
            load = _merge_optional(load, result.load)
            figures = figures.merged(result.figures)
            batches = _merge_optional(batches, result.batches)
        rendered = [result.rendered_sha256 for result in results]
        return cls(
            samples=_distinct_ids([result.samples for result in results]),
            peak_memory_mb=largest_known(result.peak_memory_mb for result in results),
            pricing=results[0].pricing,
            latency_percentile=results[0].latency_percentile,
            token_count=token_count,
            load=load,
            figures=figures,
            batches=batches,
            capacity=capacity,
            rendered_sha256=None
            if all(digest is None for digest in rendered)
            else text_digest([str(digest) for digest in rendered]),
            scorers=tuple(dict.fromkeys(name for result in results for name in result.scorers)),
        )

    def extended(self, more: GenerationResult) -> GenerationResult:
        """This result with the runs of a later measurement of the same prompts appended."""
        if len(more.samples) != len(self.samples):
            raise ValueError("extended needs a result for the same prompts")
        samples = tuple(
            replace(
                sample,
                runs=sample.runs + extra.runs,
                text=extra.text,
                correct=extra.correct,
                score=extra.score,
            )
            for sample, extra in zip(self.samples, more.samples, strict=True)
        )
        return replace(
            self,
            samples=samples,
            peak_memory_mb=largest_known((self.peak_memory_mb, more.peak_memory_mb)),
            token_count=self.token_count.merged(more.token_count),
            load=_merge_optional(self.load, more.load),
            batches=_merge_optional(self.batches, more.batches),
            capacity=_merge_optional(self.capacity, more.capacity),
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
    def generation_memory_mb(self) -> float | None:
        """The largest increase of memory during one request, above its level at the start:
        activations and the KV cache, without the weights."""
        return largest_known(run.generation_memory_mb for run in self.runs)

    @property
    def weights_mb(self) -> float | None:
        """Memory of the loaded parameters and buffers, as stored (int8, 4-bit, adapters)."""
        return self.figures.weights_mb

    @property
    def tokens_read(self) -> float:
        """Mean tokens a request's forward passes read (see `tokens_read`)."""
        return float(
            np.mean(
                [
                    tokens_read(sample.input_tokens, run.output_tokens)
                    for sample in self.samples
                    for run in sample.runs
                ]
            )
        )

    @property
    def kv_cache_mb(self) -> float | None:
        """Mean KV cache per request at its end: bytes per token (from the model's config and
        dtype) times the tokens it holds."""
        per_token = self.figures.kv_cache_bytes_per_token
        return None if per_token is None else per_token * self.tokens_read / _MB

    @property
    def flops_per_token(self) -> float | None:
        """FLOPs per token read, counted over the forward passes of one request."""
        return self.figures.flops_per_token

    @property
    def flops(self) -> float | None:
        """Mean FLOPs per request: the counted FLOPs per token times the tokens it reads."""
        per_token = self.flops_per_token
        return None if per_token is None else per_token * self.tokens_read

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
    def slo_attainment(self) -> float | None:
        """Under load with an SLO: the share of requests that met every bound."""
        return None if self.load is None else self.load.slo_attainment

    @property
    def slo_counts(self) -> tuple[int, int] | None:
        """(requests that met the SLO, requests held to it), for its exact interval."""
        if self.load is None or not self.load.slo_requests:
            return None
        return self.load.slo_met, self.load.slo_requests

    def searched_by(self, by: str) -> CapacityFigures | None:
        """The capacity search's figures, when one varied `by` (rate or concurrency)."""
        return self.capacity if self.capacity is not None and self.capacity.by == by else None

    @property
    def capacity_rps(self) -> float | None:
        """After a capacity search by rate: the highest rate shown to hold the SLO."""
        searched = self.searched_by("rate")
        return None if searched is None else searched.capacity_rps

    @property
    def capacity_concurrency(self) -> float | None:
        """After a search by concurrency: the most requests in flight shown to hold it."""
        searched = self.searched_by("concurrency")
        return None if searched is None else searched.capacity_rps

    def capacity_bracket(self, by: str) -> tuple[float | None, float | None] | None:
        """After a capacity search by `by`: (highest level shown to hold, lowest not to)."""
        searched = self.searched_by(by)
        return None if searched is None else (searched.held_rps, searched.failed_rps)

    @property
    def goodput_rps(self) -> float | None:
        """Under load with an SLO: requests per second that met every bound."""
        return None if self.load is None else self.load.goodput_rps

    @property
    def client_lag_ms(self) -> float | None:
        """Under load: the client's lag sending a request (p95)."""
        return None if self.load is None else self.load.client_lag_ms

    @property
    def max_new_tokens_hit_rate(self) -> float:
        """Share of runs that stopped at max_new_tokens instead of ending by themselves."""
        runs = self.runs
        return sum(run.hit_max_new_tokens for run in runs) / len(runs)

    @property
    def accuracy(self) -> float | None:
        """Mean score over the scored prompts (the share right, with a bool scorer; a graded
        score of 0.5 counts as half right), None without `expected`."""
        scored = [sample.scored for sample in self.samples if sample.scored is not None]
        return sum(scored) / len(scored) if scored else None
