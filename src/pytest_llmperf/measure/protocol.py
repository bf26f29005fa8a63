"""The timing protocol: warm-up, repeats, and the models' runs in alternating rounds (pairs
when there are two).

A run is one request: a generation, or under scorer="loglikelihood" one forward pass that
ranks a prompt's choices (the answer is the likeliest choice; nothing is generated, so the
run has no output tokens and no first token, and the machine-independent figures are left
at the weights: no KV cache is kept, and the FLOPs of a generation are not the pass's)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from time import perf_counter

from pytest_llmperf.backends.base import Backend, Completion, no_likelihoods
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.measure.load import LoadSpec, run_load
from pytest_llmperf.measure.scoring import Scored, score_answer
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.prompts import Conversation, Prompt, text_digest
from pytest_llmperf.results import (
    BatchFigures,
    GenerationResult,
    LoadFigures,
    ModelFigures,
    PromptSample,
    TokenCount,
    largest_known,
)


@dataclass(frozen=True)
class Protocol:
    """How many warm-up and measured runs, and the seed of the run order and of sampling."""

    repeats: int = 5
    warmup: int = 1
    seed: int = 0
    latency_percentile: float = 95.0
    # time.monotonic() after which no further pass over the prompts starts (extra runs
    # within --llm-max-seconds); the first pass always runs, so every prompt has a run.
    deadline: float | None = None
    # Count the machine-independent figures in one untimed run (off for runs added later
    # to a result that has them).
    count_figures: bool = True
    scorer_timeout_s: float = 10.0  # how long one answer's scorer may run

    def may_start(self, repeat: int) -> bool:
        return repeat == 0 or self.deadline is None or time.monotonic() < self.deadline


class _Recorder:
    """Collects one backend's completions for one workload."""

    def __init__(self, backend: Backend, workload: Workload) -> None:
        self.backend = backend
        self.workload = workload
        if workload.by_likelihood and not backend.scores_likelihoods:
            raise GenerationError(no_likelihoods(backend.label))
        # Raises before anything is timed when a prompt cannot be generated (context, empty).
        new_tokens = 0 if workload.by_likelihood else workload.max_new_tokens
        backend.input_token_counts(workload.prompts, new_tokens)
        self.completions: list[list[Completion]] = [[] for _ in workload.prompts]
        self.batches: BatchFigures | None = None
        self._tracker = backend.memory_tracker()
        self.figures = ModelFigures()

    def warm_up(self, runs: int, seed: int, count_figures: bool = True) -> None:
        """The first warm-up run is also the counted one (FLOPs, weights): untimed, like
        every warm-up run, and deterministic; an in-process model runs it even with no
        warm-up asked for, so that its figures are never missing. Counted on one request,
        so batched workloads still warm up their batch path as often as asked."""
        first_group = self.workload.groups()[0]
        prompt, generation = self.workload.prompts[first_group[0]], self.workload.generation
        counted = None
        if count_figures and self.workload.by_likelihood:
            self.figures = ModelFigures(weights_mb=self.backend.weights_mb)
        elif count_figures:
            counted = self.backend.count_figures(prompt, generation, seed)
        if counted is not None:
            self.figures = counted
            if self.workload.batch_size is None:
                runs -= 1
        for _ in range(runs):
            self._complete(first_group, seed)

    def _complete(self, group: tuple[int, ...], seed: int) -> list[Completion]:
        prompts = [self.workload.prompts[index] for index in group]
        generation = self.workload.generation
        if self.workload.by_likelihood:
            return [self._likeliest(index) for index in group]
        if self.workload.batch_size is None:
            return [self.backend.complete(prompts[0], generation, seed)]
        return self.backend.complete_batch(prompts, generation, seed)

    def _likeliest(self, index: int) -> Completion:
        """A prompt's choices ranked in one forward pass: the answer is the likeliest."""
        assert self.workload.choices is not None, "checked when the workload was made"
        choices = self.workload.choices[index]
        assert choices is not None, "checked when the workload was made"
        ranked = self.backend.choice_likelihoods(self.workload.prompts[index], choices)
        return Completion(choices[ranked.best], ranked.input_tokens, ranked.run)

    def measure(self, group: tuple[int, ...], seed: int) -> None:
        """One timed run of a prompt, or of a batch of them; the memory high-water mark is
        read outside the timed region."""
        self._tracker.start()
        started = perf_counter()
        completions = self._complete(group, seed)
        wall_seconds = perf_counter() - started
        increase = self._tracker.peak_increase_mb()
        weights = self.backend.weights_mb
        for index, completion in zip(group, completions, strict=True):
            if increase is not None:
                whole = None if weights is None else weights + increase
                run = replace(completion.run, peak_memory_mb=whole, generation_memory_mb=increase)
                completion = replace(completion, run=run)
            self.completions[index].append(completion)
        if self.workload.batch_size is not None:
            batch = BatchFigures(
                batch_size=self.workload.batch_size,
                batches=1,
                requests=len(completions),
                wall_seconds=wall_seconds,
                output_tokens=sum(c.run.output_tokens for c in completions),
            )
            self.batches = batch if self.batches is None else self.batches.merged(batch)

    def _scored(self, text: str, index: int, timeout_s: float) -> Scored | None:
        workload = self.workload
        if workload.expected is None:
            return None
        return score_answer(
            workload.scorer,
            workload.scorer_name,
            str(workload.prompts[index]),
            text,
            workload.expected[index],
            None if workload.choices is None else workload.choices[index],
            timeout_s,
        )

    def _sample(self, index: int, completions: list[Completion], timeout_s: float) -> PromptSample:
        text = completions[-1].text
        scored = self._scored(text, index, timeout_s)
        workload = self.workload
        return PromptSample(
            prompt_index=index,
            input_tokens=completions[-1].input_tokens,
            text=text,
            runs=tuple(c.run for c in completions),
            correct=None if scored is None else scored.correct,
            prompt=str(workload.prompts[index]),
            expected=None if workload.expected is None else workload.expected[index],
            score=None if scored is None else scored.score,
            question_id=workload.ids[index] if workload.ids else str(index),
        )

    def result(self, protocol: Protocol) -> GenerationResult:
        samples = tuple(
            self._sample(index, completions, protocol.scorer_timeout_s)
            for index, completions in enumerate(self.completions)
        )
        every = [c for completions in self.completions for c in completions]
        return GenerationResult(
            samples=samples,
            peak_memory_mb=largest_known(c.run.peak_memory_mb for c in every),
            latency_percentile=protocol.latency_percentile,
            token_count=token_count(every),
            figures=self.figures,
            batches=self.batches,
            rendered_sha256=rendered_digest(self.backend, self.workload.prompts),
            scorers=() if self.workload.expected is None else (self.workload.scorer_name,),
        )


def rendered_digest(backend: Backend, prompts: Sequence[Prompt]) -> str | None:
    """The digest of the prompts as rendered for this model, when some are conversations
    (None when the model's template is out of sight, on a server)."""
    if not any(isinstance(prompt, Conversation) for prompt in prompts):
        return None
    rendered = [backend.rendered(prompt) for prompt in prompts]
    if any(text is None for text in rendered):
        return None
    return text_digest([str(text) for text in rendered])


def token_count(completions: Sequence[Completion]) -> TokenCount:
    """Where the counts came from, and how the tokenizer's second count agreed."""
    counts = [
        TokenCount.of(c.token_source, c.run.output_tokens, c.second_count) for c in completions
    ]
    return functools.reduce(TokenCount.merged, counts)


def _run_seed(protocol: Protocol, repeat: int, prompt_index: int) -> int:
    return protocol.seed * 1_000_003 + repeat * 10_007 + prompt_index


def measure(backend: Backend, workload: Workload, protocol: Protocol) -> GenerationResult:
    """Warm up, then run every prompt `repeats` times (or send the workload's load)."""
    if workload.load is not None:
        return measure_load(backend, workload, workload.load, protocol)
    recorder = _Recorder(backend, workload)
    recorder.warm_up(protocol.warmup, protocol.seed, protocol.count_figures)
    for repeat in range(protocol.repeats):
        if not protocol.may_start(repeat):
            break
        for group in workload.groups():
            recorder.measure(group, _run_seed(protocol, repeat, group[0]))
    return recorder.result(protocol)


def measure_paired(
    baseline: Backend, candidate: Backend, workload: Workload, protocol: Protocol
) -> tuple[GenerationResult, GenerationResult]:
    """Measure both models on the same workload in pairs of runs, each pair in random order."""
    base, cand = measure_alternating([baseline, candidate], workload, protocol)
    return base, cand


def measure_alternating(
    models: Sequence[Backend], workload: Workload, protocol: Protocol
) -> list[GenerationResult]:
    """Measure every model on the same workload in rounds: each round runs one prompt once
    on every model, in an order the seed shuffles afresh, so that drift in the machine's
    state and any first-in-round effect fall on all alike. Before every pass over the
    prompts each model's weights are placed afresh in memory, so that where they happened
    to lie is averaged over the passes. Results in the models' order.
    """
    order = list(range(len(models)))
    rounds = random.Random(protocol.seed)
    if workload.load is not None:
        # Under load requests overlap, so runs cannot be paired; whole load runs alternate.
        rounds.shuffle(order)
        results = {index: measure(models[index], workload, protocol) for index in order}
        return [results[index] for index in range(len(models))]
    recorders = [_Recorder(model, workload) for model in models]
    for recorder in recorders:
        recorder.warm_up(protocol.warmup, protocol.seed, protocol.count_figures)
    for repeat in range(protocol.repeats):
        if not protocol.may_start(repeat):
            break
        if len(models) > 1:
            for model_index in order:  # the last round's order: neither always first
                models[model_index].place_weights_afresh()
        for group in workload.groups():
            rounds.shuffle(order)
            seed = _run_seed(protocol, repeat, group[0])
            for model_index in order:
                recorders[model_index].measure(group, seed)
    return [recorder.result(protocol) for recorder in recorders]


def measure_load(
    backend: Backend, workload: Workload, load: LoadSpec, protocol: Protocol
) -> GenerationResult:
    """Warm up one request at a time, then send the workload's requests under load."""
    if not backend.serves_concurrently:
        raise GenerationError(
            "concurrency and rate need a served model (MODEL@http://HOST:PORT/v1): an "
            "in-process model answers one request at a time."
        )
    recorder = _Recorder(backend, workload)
    recorder.warm_up(protocol.warmup, protocol.seed, protocol.count_figures)

    def send(index: int, seed: int) -> Completion:
        return backend.complete(workload.prompts[index], workload.generation, seed)

    loaded = run_load(send, len(workload.prompts), load, _run_seed(protocol, 0, 0))
    sent = loaded.sent
    errors = [request.outcome for request in sent if isinstance(request.outcome, str)]
    for request in sent:
        if not isinstance(request.outcome, str):
            recorder.completions[request.prompt].append(request.outcome)
    unanswered = [i for i, done in enumerate(recorder.completions) if not done]
    if unanswered:
        example = errors[0] if errors else "no request was sent before duration_s ran out"
        raise GenerationError(
            f"under load, no request for prompt {unanswered[0]} succeeded "
            f"({len(errors)} of {len(sent)} requests failed), e.g.: {example}"
        )
    slo = load.slo
    figures = LoadFigures(
        concurrency=load.concurrency,
        rate_per_s=load.rate,
        requests=len(sent),
        errors=len(errors),
        wall_seconds=loaded.wall_seconds,
        output_tokens=sum(c.run.output_tokens for done in recorder.completions for c in done),
        error_examples=tuple(dict.fromkeys(errors))[:3],
        arrival=load.arrival,
        slo_requests=0 if slo is None else len(sent),
        slo_met=0 if slo is None else sum(_meets(slo, request.outcome) for request in sent),
        slo_tightest_ms=None if slo is None else slo.tightest_ms,
        client_lags_ms=tuple(request.lag_ms for request in sent),
    )
    return replace(recorder.result(protocol), load=figures)


def _meets(slo: Slo, outcome: Completion | str) -> bool:
    """A completed request that kept every bound; a failed one never does."""
    return not isinstance(outcome, str) and slo.met(outcome.run)
