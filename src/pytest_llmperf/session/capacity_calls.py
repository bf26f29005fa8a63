"""generate(..., capacity=True): the highest rate (or, capacity_by="concurrency", the most
requests in flight) each model holds the SLO at, searched on the models of the call alike
(one plan, one step each in turn, judge/capacity.py), the steps measured through the load
client (measure/capacity_steps.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.judge.capacity import CapacityPlan, MeasureStep, search_alternating
from pytest_llmperf.measure.capacity_steps import (
    CapacitySpec,
    StepMeasurement,
    measure_concurrency_step,
    measure_step,
    serve_it,
)
from pytest_llmperf.measure.load import MAX_IN_FLIGHT
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.results import GenerationResult

# Each step's requests are seeded apart from the last step's.
STEP_SEED_STEP = 100_003


def check_served(backends: Sequence[Backend]) -> None:
    """Before anything is measured: every model of a capacity search must be served."""
    for backend in backends:
        if not backend.serves_concurrently:
            raise serve_it(backend.label)


def with_capacity(
    backends: Sequence[Backend], results: Sequence[GenerationResult], workload: Workload, seed: int
) -> list[GenerationResult]:
    """Each result with its model's capacity. A search by rate starts at the rate one
    request at a time sustains on the slower model (1000 / its median latency), one by
    concurrency at one request in flight; every model alike."""
    spec = workload.capacity
    assert spec is not None
    slowest = max(result.latency_ms for result in results)
    plan = CapacityPlan(
        target=spec.target,
        start_rps=1000.0 / max(slowest, 1.0),
        bound_ms=spec.slo.tightest_ms,
        precision=spec.precision,
        max_seconds=spec.max_seconds,
    )
    if spec.by == "concurrency":
        plan = replace(plan, start_rps=1.0, floor_rps=1.0, whole=True, ceiling=MAX_IN_FLIGHT)
    steppers = [
        _stepper(backend, workload, spec, seed, result.latency_ms / 1000)
        for backend, result in zip(backends, results, strict=True)
    ]
    found = search_alternating(steppers, plan)
    return [
        replace(result, capacity=replace(capacity.figures(), slo=spec.slo.to_json(), by=spec.by))
        for result, capacity in zip(results, found, strict=True)
    ]


def _stepper(
    backend: Backend, workload: Workload, spec: CapacitySpec, seed: int, request_s: float
) -> MeasureStep:
    """Measures a step of `backend`'s search; `request_s`: its time per request alone."""
    steps = iter(range(1_000_000))
    prompts = len(workload.prompts)

    def send(index: int, request_seed: int) -> Completion:
        return backend.complete(workload.prompts[index], workload.generation, request_seed)

    def measure(level: float, requests: int) -> StepMeasurement:
        step_seed = seed + STEP_SEED_STEP * next(steps)
        if spec.by == "concurrency":
            return measure_concurrency_step(
                send, prompts, spec.slo, int(level), requests, step_seed, request_s
            )
        return measure_step(send, prompts, spec.slo, level, requests, step_seed)

    return measure
