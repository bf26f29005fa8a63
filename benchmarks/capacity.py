"""The capacity search against a known answer.

A simulated replica (tests/servers.py: `slots` requests generating at once, the rest
waiting first come first served, a fixed answer length) has a capacity that can be computed:
at a constant rate no request waits while the rate is at most slots / service time (D/D/c),
and past it the queue grows without end. With an end-to-end SLO a little above one service
time, that is the highest rate that holds the SLO.

The replica runs in a process of its own, as a server does (`--same-process` puts it in
this one, its threads then sharing the client's interpreter lock), on its own ideal clock:
its capacity stays slots / service time whatever else runs on the machine.

For each of `--runs` runs (a fresh replica each), this script:

1. runs the plugin's capacity search (judge/capacity.py, steps measured by
   measure/capacity_steps.py through the plugin's own OpenAI client, as `generate(...,
   capacity=True)` does) and checks the capacity found is within 10% of the computed one;
2. measures one step at 1.5x the computed capacity and checks the over-saturation test
   flags it.

Beside it, a fixed-rate sweep by hand (one step per rate, 0.5x to 2x the capacity): the
attainment a person reading a plain sweep would see, with and without the over-saturation
test. One Markdown table each; --json writes the raw figures, each search's steps in detail
(attainment, whether the queue grew, whether the client sent late) and the load average at
each run's start. `--load N` runs N busy processes meanwhile, as other jobs on a shared
machine.

    .venv/bin/python benchmarks/capacity.py --runs 20 [--load 1] [--json out.json]
        [--no-sweep] [--same-process]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from premerge import busy  # N busy processes, as other jobs on a shared machine

from pytest_llmperf.backends.endpoint import EndpointBackend
from pytest_llmperf.judge.capacity import CapacityPlan, Step, decide_step, search_capacity
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


def step_detail(step: Step, truth: float) -> dict:
    """What decided one step, for reading a search that went wrong."""
    m = step.measurement
    latencies = sorted(m.latencies_ms)
    quarter = max(1, len(m.latencies_ms) // 4)
    by_send = [latency for _, latency in sorted(zip(m.sent_s, m.latencies_ms, strict=True))]
    return {
        "rate": round(step.rate, 2),
        "share": round(step.rate / truth, 3),
        "requests": m.requests,
        "met": m.met,
        "outcome": step.outcome.value,
        "over_saturated": step.over_saturated,
        "client_bound": m.client_bound,
        "remeasured": step.remeasured,
        "latency_ms_median": round(statistics.median(latencies), 1) if latencies else None,
        "latency_ms_max": round(latencies[-1], 1) if latencies else None,
        # the first and last quarter of the requests sent: a queue that grew ends high
        "first_quarter_ms": round(statistics.median(by_send[:quarter]), 1) if by_send else None,
        "last_quarter_ms": round(statistics.median(by_send[-quarter:]), 1) if by_send else None,
        "seconds": round(m.seconds, 2),
    }


def _serve(settings: dict, pipe: Connection) -> None:
    with simulated_replica(**settings) as replica:
        pipe.send((replica.url, replica.capacity_rps(slo_latency_ms=SLO_MS)))
        pipe.recv()  # until the measuring process is done


@contextlib.contextmanager
def replica(seed: int, same_process: bool) -> Iterator[tuple[str, float]]:
    """A fresh simulated replica: its URL and computed capacity. In a process of its own, as
    a server is (`same_process`: in this one, its threads sharing the client's interpreter
    lock, which on a busy machine made the client late: client-bound steps)."""
    if same_process:
        with simulated_replica(**REPLICA, seed=seed) as server:
            yield server.url, server.capacity_rps(slo_latency_ms=SLO_MS)
        return
    here, there = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=({**REPLICA, "seed": seed}, there))
    process.start()
    try:
        yield here.recv()
    finally:
        here.send("done")
        process.join(30)


def one_run(seed: int, precision: float, same_process: bool) -> dict:
    loadavg = os.getloadavg()[0]
    with replica(seed, same_process) as (url, truth):
        model = backend(url)
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
        "steps_detail": [step_detail(step, truth) for step in found.steps],
        "loadavg": loadavg,
    }


def sweep(seed: int, same_process: bool) -> list[dict]:
    rows = []
    with replica(seed, same_process) as (url, truth):
        model = backend(url)
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
    parser.add_argument("--load", type=int, default=0, help="busy processes meanwhile")
    parser.add_argument("--no-sweep", action="store_true", help="the searches only")
    parser.add_argument(
        "--same-process", action="store_true", help="the replica in this process, not its own"
    )
    args = parser.parse_args()

    runs = []
    with busy(args.load):
        for seed in range(args.runs):
            run = one_run(seed, args.precision, args.same_process)
            runs.append(run)
            outcomes = " ".join(
                f"{step['share']:.2f}:{step['outcome']}{'*' if step['remeasured'] else ''}"
                for step in run["steps_detail"]
            )
            print(  # steps as share of the capacity:outcome, * measured again at once
                f"run {seed:2d}: found {run['found_rps']:.1f} (not {run['failed_rps']}) of "
                f"{run['truth_rps']:.1f} requests/s ({run['error']:+.1%}), {run['steps']} steps "
                f"in {run['search_s']:.0f} s; 1.5x flagged: {run['past_flagged']}; load "
                f"{run['loadavg']:.1f}; {outcomes}",
                flush=True,
            )
        rows = [] if args.no_sweep else sweep(args.runs, args.same_process)

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
    again = sum(step["remeasured"] for run in runs for step in run["steps_detail"])
    print(f"| steps measured again (a stall suspected) | {again} in {len(runs)} searches |")
    print(f"| search time: median | {statistics.median(r['search_s'] for r in runs):.0f} s |")
    print(f"| 1.5x capacity flagged over-saturated | {flagged} of {len(runs)} |")
    loads = [run["loadavg"] for run in runs]
    print(
        f"| load average at run starts: median, max | {statistics.median(loads):.1f}, "
        f"{max(loads):.1f} (busy processes added: {args.load}) |"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "sweep": rows}, indent=1))
    if not rows:
        return
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


if __name__ == "__main__":
    main()
