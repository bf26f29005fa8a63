"""generate(..., capacity=True): the highest rate each model holds the SLO at, searched on
the models of the call alike (one plan, one step each in turn, judge/capacity.py), the steps
measured through the load client (measure/capacity_steps.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.judge.capacity import CapacityPlan, MeasureStep, search_alternating
from pytest_llmperf.measure.capacity_steps import (
    CapacitySpec,
    StepMeasurement,
    measure_step,
    serve_it,
)
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
    """Each result with its model's capacity. The search starts at the rate one request at a
    time sustains on the slower model (1000 / its median latency), for every model alike."""
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
    found = search_alternating([_stepper(b, workload, spec, seed) for b in backends], plan)
    return [
        replace(result, capacity=replace(capacity.figures(), slo=spec.slo.to_json()))
        for result, capacity in zip(results, found, strict=True)
    ]


def _stepper(backend: Backend, workload: Workload, spec: CapacitySpec, seed: int) -> MeasureStep:
    steps = iter(range(1_000_000))

    def send(index: int, request_seed: int) -> Completion:
        return backend.complete(workload.prompts[index], workload.generation, request_seed)

    def measure(rate: float, requests: int) -> StepMeasurement:
        step_seed = seed + STEP_SEED_STEP * next(steps)
        return measure_step(send, len(workload.prompts), spec.slo, rate, requests, step_seed)

    return measure
