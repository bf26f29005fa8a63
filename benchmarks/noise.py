"""Do verdicts hold under noise? False failures (A/A) and detection (A/B), side by side
with pytest-benchmark's --benchmark-compare-fail=median:10% on the very same runs.

    python benchmarks/noise.py [--verdicts 100] [--big-verdicts 20] [--load N] [--slowdown 1.25]
        [--checkpoints DIR]

--load N keeps N busy processes running meanwhile, as other jobs do on a shared machine.

Models: the tiny baseline made deeper with blocks that compute nothing (same answers,
more work per token). A is 8 layers; its copy is the A/A candidate; B and B4 have as
many more layers as make them, measured here over many pairs, at least `--slowdown` (1.25x
unless told) and about 4x slower. Each verdict is one test judged in a session of its own,
through the plugin's own code: measurement in alternating pairs, its interval, more pairs
while inconclusive, the rule at the cap.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pytest_benchmark.utils import parse_compare_fail

# The tiny checkpoints are built by the repository's tests.models, not shipped in the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmperf.backends.transformers_backend import TransformersBackend
from pytest_llmperf.judge.stats import paired_ratio
from pytest_llmperf.judge.verdicts import Outcome
from pytest_llmperf.limits import parse_budget
from pytest_llmperf.measure.protocol import Protocol, measure_paired
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.session.session import BASELINE, CANDIDATE, LlmPerfSession
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.models.tiny import (
    QUESTIONS,
    build_baseline,
    build_slow,
    copy_checkpoint,
    prompt_for,
)

PROMPTS = [prompt_for(question) for question in QUESTIONS[:3]]
GENERATION = {"do_sample": False, "num_beams": 1, "max_new_tokens": 16}
PYTEST_BENCHMARK_RULE = "median:10%"


def load(path: Path) -> TransformersBackend:
    return TransformersBackend.load(ModelSpec(str(path), Path.cwd()), Settings(device="cpu"))


def true_ratio(a: TransformersBackend, b: TransformersBackend, pairs: int = 60) -> float:
    """The slowdown measured over many pairs: the truth the verdicts are held to."""
    workload = Workload.from_call(PROMPTS, GENERATION)
    base, cand = measure_paired(a, b, workload, Protocol(repeats=pairs // len(PROMPTS), warmup=2))
    return paired_ratio(base.latencies_ms, cand.latencies_ms)


def build_models(root: Path) -> dict[str, Path]:
    baseline = build_baseline(root / "tiny")
    paths = {"A": build_slow(baseline, root / "A", extra_layers=6, mlp_multiplier=1)}
    paths["A copy"] = copy_checkpoint(paths["A"], root / "A-copy")
    return paths


def calibrated(
    root: Path, a: TransformersBackend, target: float, shapes: list[tuple[int, int]]
) -> tuple[Path, float]:
    """The first deeper (and wider) model whose measured slowdown against A reaches `target`.

    `shapes` are (extra layers, MLP width multiplier), in order of growing cost.
    """
    tiny = root / "tiny"
    for extra, width in shapes:
        name = f"B-{extra + 2}x{width}"
        path = build_slow(tiny, root / name, extra_layers=extra, mlp_multiplier=width)
        ratio = true_ratio(a, load(path))
        print(f"  calibrating: {extra + 2} layers, MLP x{width} vs 8 layers -> {ratio:.3f}x")
        if ratio >= target:
            return path, ratio
    return path, ratio


@dataclass
class Tally:
    name: str
    truth: float
    budget: float
    llmperf_fails: int = 0
    benchmark_fails: int = 0
    inconclusive_at_cap: int = 0
    seconds: list[float] = field(default_factory=list)
    pairs: list[int] = field(default_factory=list)

    def row(self) -> str:
        n = len(self.seconds)
        return (
            f"{self.name:14} {self.truth:6.2f}x  {self.budget:5.2f}  {n:4}  "
            f"{self.llmperf_fails:4} ({self.llmperf_fails / n:6.1%})  "
            f"{self.benchmark_fails:4} ({self.benchmark_fails / n:6.1%})  "
            f"{self.inconclusive_at_cap:4}  {statistics.median(self.seconds):6.2f}  "
            f"{statistics.median(self.pairs):5.0f}"
        )


def one_verdict(a: TransformersBackend, b: TransformersBackend, budget: float, seed: int):
    """One test, judged in a session of its own, as the plugin judges it."""
    settings = Settings(
        baseline=ModelSpec("A", Path.cwd()),
        candidate=ModelSpec("B", Path.cwd()),
        repeats=5,
        warmup=1,
        seed=seed,
    )
    session = LlmPerfSession(settings)
    session.models._loaded = {BASELINE: a, CANDIDATE: b}
    marker = parse_budget((), {"latency_ratio": budget})
    session.count_decisions([marker])
    started = time.perf_counter()
    session.generate(
        "bench::verdict", CANDIDATE, PROMPTS, None, {"max_new_tokens": 16}, pair_with_baseline=True
    )
    outcome = session.judge("bench::verdict", marker)
    return outcome, time.perf_counter() - started


def pytest_benchmark_fails(baseline_ms: np.ndarray, candidate_ms: np.ndarray) -> bool:
    """pytest-benchmark's own check, on the medians of the same runs (seconds, as it stores)."""
    check = parse_compare_fail(PYTEST_BENCHMARK_RULE)
    current = {"median": float(np.median(candidate_ms)) / 1000}
    compared = {"median": float(np.median(baseline_ms)) / 1000}
    return bool(check.fails(current, compared))


def run_scenario(
    tally: Tally, a: TransformersBackend, b: TransformersBackend, verdicts: int
) -> None:
    for seed in range(verdicts):
        outcome, seconds = one_verdict(a, b, tally.budget, seed)
        (verdict,) = outcome.verdicts
        tally.llmperf_fails += verdict.outcome is Outcome.FAIL
        tally.inconclusive_at_cap += verdict.decided_by.startswith("inconclusive")
        tally.benchmark_fails += pytest_benchmark_fails(
            outcome.baseline.latencies_ms, outcome.candidate.latencies_ms
        )
        tally.seconds.append(seconds)
        tally.pairs.append(len(outcome.candidate.runs))
    print(tally.row(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verdicts", type=int, default=100)
    parser.add_argument("--big-verdicts", type=int, default=20)
    parser.add_argument("--checkpoints", type=Path, default=None)
    parser.add_argument(
        "--load", type=int, default=0, help="busy processes to run meanwhile: a shared machine"
    )
    parser.add_argument(
        "--slowdown", type=float, default=1.25, help="the least slowdown of the A/B candidate"
    )
    args = parser.parse_args()
    hogs = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for hog in hogs:
        hog.start()
    try:
        run_all(args)
    finally:
        for hog in hogs:
            hog.terminate()


def _busy() -> None:
    """Spin until terminated (daemon: it dies with the benchmark)."""
    while True:
        sum(range(10_000))


def run_all(args: argparse.Namespace) -> None:
    root = args.checkpoints or Path(tempfile.mkdtemp(prefix="llmperf-noise-"))
    print(f"building and calibrating models ({args.load} busy processes meanwhile)")
    paths = build_models(root)
    a, a_copy = load(paths["A"]), load(paths["A copy"])
    aa_truth = true_ratio(a, a_copy)
    shapes_b = [(8, 1), (8, 2), (8, 3), (8, 4), (9, 1), (9, 2), (9, 3), (10, 1), (10, 2)]
    b_path, b_truth = calibrated(root, a, args.slowdown, shapes_b)
    shapes_4 = [(34, 1), (36, 1), (38, 1), (40, 1), (42, 1), (44, 1), (46, 1), (48, 1)]
    b4_path, b4_truth = calibrated(root, a, 3.95, shapes_4)
    b, b4 = load(b_path), load(b4_path)
    print()
    print(
        "scenario        truth   budget  verdicts  llmperf fails   pytest-benchmark "
        f"{PYTEST_BENCHMARK_RULE} fails  at cap  median s  median pairs"
    )
    run_scenario(Tally("A/A copy", aa_truth, 1.10), a, a_copy, args.verdicts)
    run_scenario(Tally(f"A/B {args.slowdown:g}x", b_truth, 1.10), a, b, args.verdicts)
    run_scenario(Tally("A/B 4x", b4_truth, 1.20), a, b4, args.big_verdicts)


if __name__ == "__main__":
    main()
