"""Goodput against vLLM's `vllm bench serve`, on the same server and SLO.

A simulated replica (tests/servers.py: 2 slots, 0.02 s to the first token, 0.01 s per
token after it, 6 tokens: 0.07 s a request, 28.6 requests/s at any end-to-end SLO of at
least one service time) is loaded at shares of that capacity with Poisson arrivals, each
rate twice: once by the plugin, as `generate(prompts, rate=R, arrival="poisson",
requests=N, slo_latency_ms=SLO)` does (measure/protocol.py's `measure_load`), once by
`vllm bench serve --request-rate R --burstiness 1 --goodput e2el:SLO` (`--arrival
constant`: arrival="constant" against --burstiness 1000). Both count a request
as good when its end-to-end latency is within the SLO, and goodput as good requests per
second of the run's wall time.

vLLM is not one of the plugin's dependencies: install it into a throwaway virtual
environment and name its `vllm` executable with --vllm (it only runs the benchmark client
here: no GPU is needed, though `pip install vllm` pulls a CUDA build of torch). The random
dataset needs a tokenizer: the tiny one the tests train is saved to a temporary directory.

    python -m venv /tmp/vllm-venv && /tmp/vllm-venv/bin/pip install vllm
    PYTHONPATH=src .venv/bin/python benchmarks/vllm_goodput.py --vllm /tmp/vllm-venv/bin/vllm
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.endpoints import endpoint
from pytest_llmperf.measure.load import LoadSpec
from pytest_llmperf.measure.protocol import Protocol, measure_load
from pytest_llmperf.measure.slo import Slo
from pytest_llmperf.measure.workload import Workload
from tests.models.tiny import build_tokenizer
from tests.servers import simulated_replica

REPLICA = {"slots": 2, "prefill_s": 0.02, "token_s": 0.01, "tokens": 6}
SLO_MS = 250.0  # 3.5 service times: a request alone keeps it with room for jitter
SHARES = (0.5, 0.8, 1.0, 1.2, 1.5)
PROMPTS = ["Q: one?", "Q: two?", "Q: three?", "Q: four?"]
# vLLM draws gaps from a gamma distribution of shape `--burstiness`: 1 is Poisson; at 1000
# the gaps vary by 3% (coefficient of variation), as near constant as it goes.
VLLM_BURSTINESS = {"poisson": "1", "constant": "1000"}


def ours(url: str, rate: float, requests: int, seed: int, arrival: str) -> dict:
    """The plugin's figures for one rate: attainment and goodput, as its reports give them."""
    model = endpoint(url, Path("sim"))
    load = LoadSpec(None, rate, requests, 120.0, arrival=arrival, slo=Slo(latency_ms=SLO_MS))
    workload = Workload.from_call(PROMPTS, {"max_new_tokens": 16, "do_sample": False})
    figures = measure_load(model, workload, load, Protocol(seed=seed)).load
    model.close()
    assert figures is not None and figures.goodput_rps is not None
    return {
        "attainment": figures.slo_attainment,
        "goodput_rps": figures.goodput_rps,
        "throughput_rps": figures.requests_per_s,
        "client_lag_ms": figures.client_lag_ms,
    }


def vllms(
    vllm: Path, url: str, tokenizer: Path, rate: float, requests: int, seed: int, arrival: str
) -> dict:
    """`vllm bench serve`'s figures for one rate, read from the result file it saves."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            str(vllm), "bench", "serve", "--backend", "openai",
            "--base-url", url.removesuffix("/v1"), "--endpoint", "/v1/completions",
            "--model", "sim", "--tokenizer", str(tokenizer), "--dataset-name", "random",
            "--random-input-len", "8", "--random-output-len", str(REPLICA["tokens"]),
            "--ignore-eos", "--num-prompts", str(requests), "--request-rate", str(rate),
            "--burstiness", VLLM_BURSTINESS[arrival], "--goodput", f"e2el:{SLO_MS:g}",
            "--seed", str(seed),
            "--disable-tqdm", "--save-result", "--result-dir", out,
            "--result-filename", "result.json",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"vllm bench serve failed: {done.stderr[-2000:]}")
        result = json.loads((Path(out) / "result.json").read_text())
    good = result["request_goodput"] * result["duration"]
    return {
        "attainment": good / result["completed"],
        "goodput_rps": result["request_goodput"],
        "throughput_rps": result["request_throughput"],
    }


def spread(values: list[float], scale: float = 1.0, unit: str = "") -> str:
    """'84.5%' for one value; 'median [min, max]' for several."""
    middle = f"{statistics.median(values) * scale:.1f}{unit}"
    if len(values) == 1:
        return middle
    return f"{middle} [{min(values) * scale:.1f}, {max(values) * scale:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vllm", type=Path, required=True, help="the vllm executable")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--shares", type=float, nargs="+", default=SHARES)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each tool per rate")
    parser.add_argument("--arrival", choices=tuple(VLLM_BURSTINESS), default="poisson")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tokenizer_dir, simulated_replica(**REPLICA) as replica:
        build_tokenizer().save_pretrained(tokenizer_dir)
        capacity = replica.capacity_rps(slo_latency_ms=SLO_MS)
        seeds = iter(range(1_000_000))
        for share in args.shares:
            rate = share * capacity
            for _ in range(args.repeats):
                seed = next(seeds)
                row = {
                    "share": share,
                    "rate": rate,
                    "seed": seed,
                    "ours": ours(replica.url, rate, args.requests, seed, args.arrival),
                    "vllm": vllms(
                        args.vllm,
                        replica.url,
                        Path(tokenizer_dir),
                        rate,
                        args.requests,
                        seed,
                        args.arrival,
                    ),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)

    print()
    print(f"Replica {REPLICA} ({capacity:.1f} requests/s), SLO latency {SLO_MS:g} ms,")
    print(
        f"{args.arrival} arrivals, {args.requests} requests per run, {args.repeats} run(s) of "
        "each tool per rate"
    )
    print()
    print("| rate (x capacity) | requests/s | attainment: ours, vLLM | goodput: ours, vLLM |")
    print("|---|---|---|---|")
    for share in args.shares:
        runs = [row for row in rows if row["share"] == share]
        cells = [
            spread([row[tool][figure] for row in runs], scale, unit)
            for figure, scale, unit in (("attainment", 100, "%"), ("goodput_rps", 1, ""))
            for tool in ("ours", "vllm")
        ]
        print(
            f"| {share:g} | {runs[0]['rate']:.1f} | {cells[0]}, {cells[1]} | "
            f"{cells[2]}, {cells[3]} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
