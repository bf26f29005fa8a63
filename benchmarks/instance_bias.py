"""Instance bias: two copies of one GPT-2-sized checkpoint, timed against each other in
separate processes (issue 25).

Each trial is its own process: it loads the original and an exact file copy as the plugin
does (AutoModelForCausalLM.from_pretrained, one thread), then times `--blocks` blocks of
`--pairs` alternating pairs of one greedy generate. Before every block but the first, with
`--replace`, each model's weights move to fresh memory (every parameter cloned), as a
reload would place them. Each block's figure is the median log-ratio copy/original of its
pairs. If the instance effect is in where the weights lie, blocks after a move differ as
much as processes do; if it is in the process, they do not.

    PYTHONPATH=src .venv/bin/python benchmarks/instance_bias.py --trials 8 [--replace]

`--plugin` runs the issue's check instead: each trial a pytest process judging the copy
live against the original (`latency_ratio=1.05`, three prompts, `--tokens` new tokens,
`--seconds` of extra runs); it prints each verdict, then how many failed and how many
intervals held 1.0.

    PYTHONPATH=src .venv/bin/python benchmarks/instance_bias.py --plugin --trials 40 \
        [--compare OTHER/src] [--pytest-args="--llm-threads=2"]

`--src` names the plugin's source to run (a frozen copy, so that edits during the run do
not change it); `--compare` runs another checkout's plugin (e.g. the commit before a
change) in every other trial, interleaved, so that both meet the same machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Question: what is 2 + 2?\nAnswer:"


def child(args: argparse.Namespace) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    paths = [args.original, args.copy]
    if args.copy_first:
        paths.reverse()
    models = {str(p): AutoModelForCausalLM.from_pretrained(p).eval() for p in paths}
    original, copy = models[args.original], models[args.copy]
    tokenizer = AutoTokenizer.from_pretrained(args.original)
    ids = tokenizer(PROMPT, return_tensors="pt")

    def timed(model) -> float:
        with torch.inference_mode():
            started = time.perf_counter()
            model.generate(
                **ids, max_new_tokens=args.tokens, do_sample=False, min_new_tokens=args.tokens
            )
            return time.perf_counter() - started

    for model in (original, copy):  # warm-up
        timed(model)
    blocks, errors = [], []
    for block in range(args.blocks):
        if block and args.replace:
            for model in (original, copy):
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter.data = parameter.data.clone()
        ratios = []
        for pair in range(args.pairs):
            first, second = (original, copy) if pair % 2 == 0 else (copy, original)
            a, b = timed(first), timed(second)
            t_original, t_copy = (a, b) if first is original else (b, a)
            ratios.append(math.log(t_copy / t_original))
        blocks.append(statistics.median(ratios))
        errors.append(median_standard_error(ratios))
    print(json.dumps({"blocks": blocks, "errors": errors}))


def median_standard_error(values: list[float]) -> float:
    """The sampling spread of a block's median (a bootstrap's standard deviation): the part
    of the blocks' spread that more pairs would remove, unlike the placement's."""
    import numpy as np

    draws = np.random.default_rng(0).choice(values, size=(4000, len(values)))
    return float(np.median(draws, axis=1).std())


PLUGIN_TEST = """
import pytest

PROMPTS = ["Question: what is 2 + 2?\\nAnswer:", "Question: name a colour.\\nAnswer:",
           "Question: where is Paris?\\nAnswer:"]


@pytest.mark.assert_within_budget(latency_ratio=1.05)
def test_answers(llm_candidate):
    llm_candidate.generate(PROMPTS, max_new_tokens=TOKENS, min_new_tokens=TOKENS)
"""


def plugin_trial(
    project: Path, original: Path, copy: Path, seconds: float, src: Path, extra: list[str]
) -> dict:
    report = project / "report.json"
    report.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--llm-baseline={original}",
        f"--llm-candidate={copy}",
        f"--llm-max-seconds={seconds:g}",
        f"--llm-report={report}",
        *extra,
    ]
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    (verdict,) = json.loads(report.read_text())["tests"][0]["verdicts"]
    interval = verdict["interval"]
    return {
        "outcome": verdict["outcome"],
        "observed": verdict["observed"],
        "low": interval["low"],
        "high": interval["high"],
        "pairs": interval["samples"],
        "seconds": round(time.monotonic() - started, 1),
    }


def plugin_main(args: argparse.Namespace, original: Path, copy: Path, root: Path) -> None:
    project = root / "project"
    project.mkdir()
    test = PLUGIN_TEST.replace("TOKENS", str(args.tokens))
    (project / "test_gpt2.py").write_text(test)
    rows: dict[str, list[dict]] = {}
    sources = [args.src, *([args.compare] if args.compare else [])]
    extra = shlex.split(args.pytest_args)
    for trial in range(args.trials):
        for src in sources[: 1 if trial % 2 else None]:
            row = plugin_trial(project, original, copy, args.seconds, src, extra)
            rows.setdefault(str(src), []).append(row)
            print(json.dumps({"trial": trial, "src": str(src), **row}), flush=True)
    for src, runs in rows.items():
        failed = sum(row["outcome"] == "FAIL" for row in runs)
        held = sum(row["low"] <= 1.0 <= row["high"] for row in runs)
        logs = [math.log(row["observed"]) for row in runs]
        print(
            f"{src}: {failed} of {len(runs)} failed latency_ratio=1.05; {held} of {len(runs)} "
            f"intervals held 1.0; observed {math.exp(min(logs)):.3f}-{math.exp(max(logs)):.3f}, "
            f"sd of its log {statistics.stdev(logs):.4f}; median pairs "
            f"{statistics.median(row['pairs'] for row in runs)}"
        )


def build(root: Path) -> tuple[Path, Path]:
    sys.path[:0] = [str(ROOT / "benchmarks")]
    from gpt2_judge import build_models

    return build_models(root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--replace", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--plugin", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--compare", type=Path)
    parser.add_argument(
        "--pytest-args", default="", help='to every plugin trial, e.g. "--llm-threads=2"'
    )
    parser.add_argument("--copy-first", action="store_true")
    parser.add_argument("--original")
    parser.add_argument("--copy")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        original, copy = build(Path(folder))
        if args.plugin:
            plugin_main(args, original, copy, Path(folder))
            return
        rows: list[list[float]] = []
        sampling: list[float] = []
        for trial in range(args.trials):
            command = [
                sys.executable,
                __file__,
                "--child",
                f"--original={original}",
                f"--copy={copy}",
                f"--blocks={args.blocks}",
                f"--pairs={args.pairs}",
                f"--tokens={args.tokens}",
            ]
            command += ["--replace"] * args.replace + ["--copy-first"] * (trial % 2)
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            blocks = result["blocks"]
            rows.append(blocks)
            sampling.extend(error**2 for error in result["errors"])
            shown = " ".join(f"{math.exp(b):.3f}" for b in blocks)
            print(
                f"trial {trial:2d} ({'copy' if trial % 2 else 'original'} loaded first): {shown}",
                flush=True,
            )
    firsts = [row[0] for row in rows]
    within = [statistics.pstdev(row) for row in rows]
    print(f"sd across processes of block 1: {statistics.stdev(firsts):.4f} (log-ratio)")
    print(f"mean sd within a process across blocks: {statistics.mean(within):.4f}")
    # Each block's median spreads by its placement and by the sampling of its pairs; less
    # the latter (the blocks' bootstrap variance), what is left is the placement's.
    noise = statistics.mean(sampling)
    across = statistics.variance(firsts)
    pooled = statistics.mean(statistics.variance(row) for row in rows) if args.blocks > 1 else 0
    print(f"sampling sd of a block's median: {math.sqrt(noise):.4f}")
    print(f"placement sd net of sampling, across processes: {net_sd(across, noise):.4f}")
    if args.blocks > 1:
        within_net = net_sd(pooled, noise)
        print(f"placement sd net of sampling, fresh copies within a process: {within_net:.4f}")


def net_sd(variance: float, sampling: float) -> float:
    return math.sqrt(max(0.0, variance - sampling))


if __name__ == "__main__":
    main()
