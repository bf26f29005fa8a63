"""The capacity search against a known answer.

A simulated replica (tests/servers.py: `slots` requests generating at once, the rest
waiting first come first served, a fixed answer length) has a capacity that can be computed:
at a constant rate no request waits while the rate is at most slots / service time (D/D/c),
and past it the queue grows without end. With an end-to-end SLO a little above one service
time, that is the highest rate that holds the SLO.

For each of `--runs` runs (a fresh replica each), this script:

1. runs the plugin's capacity search (judge/capacity.py, steps measured by
   measure/capacity_steps.py through the plugin's own OpenAI client, as `generate(...,
   capacity=True)` does) and checks the capacity found is within 10% of the computed one;
2. measures one step at 1.5x the computed capacity and checks the over-saturation test
   flags it.

Beside it, a fixed-rate sweep by hand (one step per rate, 0.5x to 2x the capacity): the
attainment a person reading a plain sweep would see, with and without the over-saturation
test. One Markdown table each; --json writes the raw figures.

    .venv/bin/python benchmarks/capacity.py --runs 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmperf.backends.endpoint import EndpointBackend
from pytest_llmperf.judge.capacity import CapacityPlan, decide_step, search_capacity
from pytest_llmperf.measure.capacity_steps import measure_step
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.settings.endpoint_spec import parse_endpoint
from tests.servers import simulated_replica

REPLICA = {"slots": 2, "prefill_s": 0.02, "token_s": 0.01, "tokens": 3}  # 0.04 s: 50 requests/s
SLO_MS = 100.0  # 2.5 service times: a request alone keeps it with room for this machine's jitter
PROMPTS = ["Q: one?", "Q: two?", "Q: three?"]
GENERATION = {"max_new_tokens": 8, "do_sample": False}
SWEEP = (0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)


def backend(url: str) -> EndpointBackend:
    spec = parse_endpoint(f"sim@{url}", where="--llm-candidate")
    assert spec is not None
    return EndpointBackend.connect(
        spec, flag="--llm-candidate", timeout_s=60, key_env=None, tokenizer_name=None
    )


def stepper(model: EndpointBackend, seed: int):
    slo = Slo(latency_ms=SLO_MS)
    count = iter(range(1_000_000))

    def send(index: int, request_seed: int):
        return model.complete(PROMPTS[index], GENERATION, request_seed)

    def measure(rate: float, requests: int):
        return measure_step(send, len(PROMPTS), slo, rate, requests, seed + 1000 * next(count))

    return measure


def one_run(seed: int, precision: float) -> dict:
    with simulated_replica(**REPLICA, seed=seed) as replica:
        truth = replica.capacity_rps(slo_latency_ms=SLO_MS)
        model = backend(replica.url)
        alone = model.complete(PROMPTS[0], GENERATION, seed).run.latency_ms  # warm-up
        measure = stepper(model, seed)
        plan = CapacityPlan(
            target=0.95, start_rps=1000 / alone, bound_ms=SLO_MS, precision=precision
        )
        started = time.perf_counter()
        found = search_capacity(measure, plan)
        seconds = time.perf_counter() - started
        past = decide_step(measure(1.5 * truth, plan.per_step), 0.95, plan.tail, SLO_MS)
        model.close()
    error = found.capacity_rps / truth - 1
    return {
        "seed": seed,
        "truth_rps": truth,
        "found_rps": found.capacity_rps,
        "failed_rps": found.failed_rps,
        "error": error,
        "within_10pct": abs(error) <= 0.10,
        "indeterminate": found.indeterminate,
        "steps": len(found.steps),
        "search_s": seconds,
        "stopped": found.stopped,
        "past_flagged": past.over_saturated,
        "past_outcome": past.outcome.value,
        "past_attainment": past.attainment,
        "search": found.figures().to_json(),
    }


def sweep(seed: int) -> list[dict]:
    rows = []
    with simulated_replica(**REPLICA, seed=seed) as replica:
        truth = replica.capacity_rps(slo_latency_ms=SLO_MS)
        model = backend(replica.url)
        model.complete(PROMPTS[0], GENERATION, seed)
        measure = stepper(model, seed)
        per_step = CapacityPlan(0.95, 1.0, SLO_MS).per_step
        for share in SWEEP:
            step = decide_step(measure(share * truth, per_step), 0.95, 0.025, SLO_MS)
            rows.append(
                {
                    "share": share,
                    "rate": step.rate,
                    "attainment": step.attainment,
                    "low": step.low,
                    "high": step.high,
                    "over_saturated": step.over_saturated,
                    "outcome": step.outcome.value,
                    "seconds": step.measurement.seconds,
                }
            )
        model.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--precision", type=float, default=0.05)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    runs = []
    for seed in range(args.runs):
        run = one_run(seed, args.precision)
        runs.append(run)
        print(
            f"run {seed:2d}: found {run['found_rps']:.1f} (not {run['failed_rps']}) of "
            f"{run['truth_rps']:.1f} requests/s ({run['error']:+.1%}), {run['steps']} steps "
            f"in {run['search_s']:.0f} s; 1.5x flagged: {run['past_flagged']}",
            flush=True,
        )
    rows = sweep(args.runs)

    within = sum(run["within_10pct"] for run in runs)
    flagged = sum(run["past_flagged"] for run in runs)
    errors = [run["error"] for run in runs]
    print()
    print(
        f"Replica {REPLICA}, SLO latency {SLO_MS:g} ms, target 95%, precision {args.precision:.0%}"
    )
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| computed capacity | {runs[0]['truth_rps']:.1f} requests/s |")
    print(f"| runs within 10% | {within} of {len(runs)} ({within / len(runs):.0%}) |")
    print(
        f"| error: median, min, max | {statistics.median(errors):+.1%}, "
        f"{min(errors):+.1%}, {max(errors):+.1%} |"
    )
    print(f"| indeterminate results | {sum(run['indeterminate'] for run in runs)} |")
    print(f"| steps per search: median | {statistics.median(r['steps'] for r in runs):.0f} |")
    print(f"| search time: median | {statistics.median(r['search_s'] for r in runs):.0f} s |")
    print(f"| 1.5x capacity flagged over-saturated | {flagged} of {len(runs)} |")
    print()
    print("Fixed-rate sweep by hand (one step per rate):")
    print()
    print(
        "| rate (x capacity) | requests/s | attainment | 95% interval | over-saturated | outcome |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['share']:g} | {row['rate']:.1f} | {row['attainment']:.1%} | "
            f"[{row['low']:.3f}, {row['high']:.3f}] | {'yes' if row['over_saturated'] else 'no'} "
            f"| {row['outcome']} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "sweep": rows}, indent=1))


if __name__ == "__main__":
    main()
