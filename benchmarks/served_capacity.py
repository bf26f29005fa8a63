"""Capacity against a real `transformers serve` on this machine's CPU: the tiny baseline
and a deeper candidate (the baseline with `--extra-layers` blocks that compute nothing and
8x the MLP), searched alike as `generate(..., capacity=True)` does, `--runs` times on one
server. What the end-to-end test's SLO and budget rest on
(tests/plugin/test_endpoints.py::test_a_slower_served_candidate_holds_the_slo_at_a_lower_rate).

Per run: each model's median latency alone, then both searched (one step each in turn,
search_alternating) by rate or by concurrency; the brackets, the steps and the interval
of candidate / baseline that `capacity_ratio` is judged on.

    PYTHONPATH=src .venv/bin/python benchmarks/served_capacity.py --runs 6
    PYTHONPATH=src .venv/bin/python benchmarks/served_capacity.py --by concurrency
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "example_project"))

from benchmarks.endpoints import endpoint
from pytest_llmperf.backends.endpoint import EndpointBackend
from pytest_llmperf.judge.capacity import (
    Capacity,
    CapacityPlan,
    MeasureStep,
    ratio_bounds,
    search_alternating,
)
from pytest_llmperf.measure.capacity_steps import measure_concurrency_step, measure_step
from pytest_llmperf.measure.load import MAX_IN_FLIGHT
from pytest_llmperf.measure.slo import Slo
from tests.models.tiny import QUESTIONS, build_baseline, build_slow, prompt_for
from tests.servers import serve_checkpoints

PROMPTS = [prompt_for(question) for question in QUESTIONS]
GENERATION = {"max_new_tokens": 48, "do_sample": False}
# As the end-to-end test asks: generate(..., capacity_target=0.8, capacity_precision=0.25,
# capacity_max_s=8, slo_latency_ms=300)
TARGET, PRECISION, MAX_S = 0.8, 0.25, 8.0


def stepper(model: EndpointBackend, slo: Slo, by: str, request_s: float) -> MeasureStep:
    seeds = iter(range(0, 10**9, 1000))

    def send(index: int, seed: int):
        return model.complete(PROMPTS[index], GENERATION, seed)

    def measure(level: float, requests: int):
        if by == "concurrency":
            return measure_concurrency_step(
                send, len(PROMPTS), slo, int(level), requests, next(seeds), request_s
            )
        return measure_step(send, len(PROMPTS), slo, level, requests, next(seeds))

    return measure


def steps_text(found: Capacity) -> str:
    return " ".join(f"{step.rate:.3g}:{step.outcome.value}" for step in found.steps)


def one_run(models: list[EndpointBackend], slo: Slo, by: str) -> tuple[float, str]:
    """Both models searched alike once: the high end of the ratio's interval, and a line."""
    alone = [
        statistics.median(
            model.complete(prompt, GENERATION, n).run.latency_ms for n, prompt in enumerate(PROMPTS)
        )
        for model in models
    ]
    plan = CapacityPlan(TARGET, 1000 / max(alone), slo.tightest_ms, PRECISION, max_seconds=MAX_S)
    if by == "concurrency":
        plan = replace(plan, start_rps=1, floor_rps=1, whole=True, ceiling=MAX_IN_FLIGHT)
    started = time.perf_counter()
    measures = [stepper(m, slo, by, ms / 1000) for m, ms in zip(models, alone, strict=True)]
    base, cand = search_alternating(measures, plan)
    seconds = time.perf_counter() - started
    estimate, low, high = ratio_bounds(base.bracket, cand.bracket)
    line = (
        f"alone {alone[0]:.0f} / {alone[1]:.0f} ms; baseline {base.bracket} "
        f"[{steps_text(base)}]; candidate {cand.bracket} [{steps_text(cand)}]; ratio "
        f"{estimate:.3f} [{low:.3f}, {high:.3f}]; {seconds:.1f} s"
    )
    return high, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--slo-ms", type=float, default=300.0)
    parser.add_argument("--by", choices=("rate", "concurrency"), default="rate")
    parser.add_argument("--extra-layers", type=int, default=30)
    args = parser.parse_args()

    highs = []
    with tempfile.TemporaryDirectory() as root:
        baseline = build_baseline(Path(root) / "baseline")
        slower = build_slow(baseline, Path(root) / "slower", extra_layers=args.extra_layers)
        with serve_checkpoints(Path(root) / "serve.log") as url:
            models = [endpoint(url, baseline), endpoint(url, slower)]
            for model in models:
                model.complete(PROMPTS[0], GENERATION, 0)  # the server loads it
            for run in range(args.runs):
                high, line = one_run(models, Slo(latency_ms=args.slo_ms), args.by)
                highs.append(high)
                print(f"run {run}: {line}", flush=True)
    print(f"highest end of the ratio's interval over {args.runs} runs: {max(highs):.3f}")


if __name__ == "__main__":
    main()
