"""The pre-merge flow as users run it: record the baseline once, judge candidates later.

Each step is its own pytest process, driven through the command line only (nothing of the
plugin's internals is imported, so this keeps working while they are restructured):

1. record: `pytest --llm-baseline=B --llm-update`, fresh snapshots every cycle;
2. judge: `pytest --llm-candidate=C --llm-report=...`, one process per candidate: the exit
   status says fail or pass; the JSON report gives the observed ratio, its interval, what
   decided it and how many runs it took;
3. beside it, pytest-benchmark on the same models in the same cycle: one `--benchmark-save`
   process on B, then one `--benchmark-compare=0001 --benchmark-compare-fail=median:10%`
   process per candidate.

The user project (one test of three prompts, `max_new_tokens=64`, `latency_ratio=1.10`) is
written into the work dir. Candidates: `copy`, an exact copy of the baseline; `1.2x` and
`4x`, the baseline made deeper or wider with blocks that add nothing (same greedy answers,
more compute), the first shapes whose slowdown lands in 1.15-1.3x and 3.6-4.5x. Slowdowns
("true ratios") are measured over many interleaved pairs of `generate` in one process,
quiet and under the load. Cycles alternate quiet and loaded: with `--load N`, N busy
processes (`while True: pass`) run through every odd cycle. Each cycle is one line of a
JSONL file, appended when it ends: a run can be interrupted, resumed and summarised.

    .venv/bin/python benchmarks/premerge.py [--cycles 100] [--load 1] [--candidates copy 1.2x 4x]
        [--workdir DIR] [--out FILE.jsonl] [--pytest-args="--llm-threads=1"]
        [--env OMP_NUM_THREADS=1] [--resume]
    .venv/bin/python benchmarks/premerge.py --summarize FILE.jsonl

`--pytest-args` go to the record and judge processes; `--env` to every process (and to
the calibration, which runs in this one). `--resume` continues FILE.jsonl with the models,
true ratios and settings it recorded; only `--cycles` is taken from the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

MAX_NEW_TOKENS = 64
LATENCY_RATIO = 1.10
PYTEST_BENCHMARK_RULE = "median:10%"
CANDIDATES = ("copy", "1.2x", "4x")
STEP_TIMEOUT_S = 3600
HERE = Path(__file__).resolve().parent
Record = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """A slowdown to build a candidate for."""

    ratio: float
    low: float
    high: float
    shapes: tuple[tuple[int, int], ...]  # (extra layers, MLP width multiplier), growing cost


TARGETS = {
    "1.2x": Target(1.2, 1.15, 1.30, ((0, 2), (1, 1), (0, 3), (1, 2), (2, 1), (0, 4))),
    "4x": Target(4.0, 3.6, 4.5, tuple((extra, 1) for extra in (4, 5, 6, 7, 8, 10, 12, 14, 16))),
}


# -- models and their true ratios --------------------------------------------------------


def _builders() -> ModuleType:
    """The test-checkpoint builders (tests/models/, not shipped in the wheel): the one place
    that knows where they live. Used: build_baseline, copy_checkpoint, build_slow,
    QUESTIONS, prompt_for.
    """
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.models import tiny

    return tiny


@dataclass
class Generator:
    """A checkpoint loaded with transformers directly, answering the prompts greedily.

    The one timed call of the calibration and of the pytest-benchmark test: the decoding
    the plugin pins (greedy, `max_new_tokens`), one request per prompt.
    """

    model: Any
    inputs: list[dict[str, Any]]
    pad_token_id: int

    @classmethod
    def load(cls, path: str | Path, prompts: Sequence[str]) -> Generator:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path).eval()
        inputs = [dict(tokenizer(prompt, return_tensors="pt")) for prompt in prompts]
        return cls(model, inputs, tokenizer.eos_token_id)

    def __call__(self) -> None:
        import torch

        with torch.inference_mode():
            for inputs in self.inputs:
                self.model.generate(
                    **inputs,
                    max_new_tokens=MAX_NEW_TOKENS,
                    do_sample=False,
                    num_beams=1,
                    pad_token_id=self.pad_token_id,
                )


def true_ratio(baseline: Generator, candidate: Generator, rounds: int, seed: int = 0) -> float:
    """Median over rounds (each model once, order by a seeded coin) of candidate / baseline."""
    for _ in range(2):
        baseline()
        candidate()
    coin = random.Random(seed)
    ratios = []
    for _ in range(rounds):
        seconds = {}
        order = ("baseline", "candidate") if coin.random() < 0.5 else ("candidate", "baseline")
        for role in order:
            generator = baseline if role == "baseline" else candidate
            started = time.perf_counter()
            generator()
            seconds[role] = time.perf_counter() - started
        ratios.append(seconds["candidate"] / seconds["baseline"])
    return statistics.median(ratios)


def calibrate(
    models: Path, baseline: Generator, prompts: list[str], target: Target, rounds: int
) -> Path:
    """The first shape whose true ratio reaches the target's band (else the costliest).

    Layers come in steps, and contention from other jobs moves each measurement: a shape
    beyond the band is taken with a warning rather than one that may not regress at all.
    """
    baseline_dir = models / "baseline"
    for extra, width in target.shapes:
        path = models / f"slow-{extra}x{width}"
        if not (path / "config.json").exists():
            _builders().build_slow(baseline_dir, path, extra_layers=extra, mlp_multiplier=width)
        ratio = true_ratio(baseline, Generator.load(path, prompts), rounds)
        print(
            f"  towards {target.ratio}x: {path.name} (+{extra} layers, MLP x{width}) {ratio:.3f}x"
        )
        if ratio >= target.low:
            break
    if not target.low <= ratio <= target.high:
        print(f"  warning: no shape in [{target.low}, {target.high}]x, took {ratio:.3f}x")
    return path


@dataclass
class Setup:
    """What every cycle of a run shares; the first line of its JSONL file."""

    candidates: list[str]
    models: dict[str, str]  # "baseline" and each candidate: checkpoint directory
    prompts: list[str]
    true_ratio: dict[str, dict[str, float]]  # condition -> candidate -> slowdown
    load: int
    env: dict[str, str]
    pytest_args: list[str]
    python: str
    workdir: str
    created: str
    kind: str = "setup"


def build_setup(args: argparse.Namespace) -> Setup:
    """Build (or reuse) the checkpoints under WORKDIR/models and measure their true ratios."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    builders = _builders()
    models = args.workdir / "models"
    prompts = [builders.prompt_for(question) for question in builders.QUESTIONS[:3]]
    if not (models / "baseline" / "config.json").exists():
        builders.build_baseline(models / "baseline")
    baseline = Generator.load(models / "baseline", prompts)
    paths = {"baseline": models / "baseline"}
    for name in args.candidates:
        if name == "copy":
            if not (models / "copy" / "config.json").exists():
                builders.copy_checkpoint(models / "baseline", models / "copy")
            paths[name] = models / "copy"
        else:
            paths[name] = calibrate(models, baseline, prompts, TARGETS[name], args.rounds)
    truths: dict[str, dict[str, float]] = {}
    for condition in ("quiet", "loaded") if args.load else ("quiet",):
        with busy(args.load if condition == "loaded" else 0):
            truths[condition] = {
                name: true_ratio(baseline, Generator.load(paths[name], prompts), args.rounds)
                for name in args.candidates
            }
        shown = ", ".join(f"{name} {ratio:.3f}x" for name, ratio in truths[condition].items())
        print(f"true ratios, {condition}: {shown}", flush=True)
    return Setup(
        candidates=list(args.candidates),
        models={name: str(path) for name, path in paths.items()},
        prompts=prompts,
        true_ratio=truths,
        load=args.load,
        env=dict(args.env),
        pytest_args=list(args.pytest_args),
        python=args.python,
        workdir=str(args.workdir),
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


# -- the user project and the load ---------------------------------------------------------


def write_project(root: Path, prompts: list[str]) -> None:
    """A user's project: the budget test in tests/, the pytest-benchmark test in bench/."""
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "bench").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent("""\
            [tool.pytest.ini_options]
            addopts = ["--strict-markers", "-p", "no:cacheprovider"]

            [tool.llmperf]
            device = "cpu"
            """)
    )
    (root / "tests" / "test_budget.py").write_text(
        textwrap.dedent(f"""\
            import pytest

            PROMPTS = {prompts!r}


            @pytest.mark.assert_within_budget(latency_ratio={LATENCY_RATIO})
            def test_answers(llm_candidate):
                llm_candidate.generate(PROMPTS, max_new_tokens={MAX_NEW_TOKENS})
            """)
    )
    (root / "bench" / "test_generate.py").write_text(
        textwrap.dedent(f"""\
            import os

            from premerge import Generator  # benchmarks/premerge.py, on PYTHONPATH

            PROMPTS = {prompts!r}


            def test_answers(benchmark):
                benchmark(Generator.load(os.environ["PREMERGE_MODEL"], PROMPTS))
            """)
    )


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def busy(processes: int) -> Iterator[None]:
    """`processes` busy loops running meanwhile, as other jobs on a shared machine."""
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(processes)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


# -- one cycle ---------------------------------------------------------------------------


def pytest_step(
    setup: Setup, argv: list[str], log: Path, extra_env: dict[str, str] | None = None
) -> Record:
    """One pytest process in the project; its output goes to `log`."""
    env = {**os.environ, **setup.env, **(extra_env or {})}
    command = [setup.python, "-m", "pytest", "-q", *argv]
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with log.open("w") as out:
        out.write(shlex.join(command) + "\n")
        out.flush()
        try:
            rc = subprocess.run(
                command,
                cwd=Path(setup.workdir) / "project",
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=STEP_TIMEOUT_S,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    return {"rc": rc, "seconds": round(time.perf_counter() - started, 2), "loadavg": load_before}


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def snapshot_facts(llm_dir: Path) -> Record:
    """The recorded snapshot: threads it was measured with, its runs and median latency."""
    found = sorted(llm_dir.rglob("*.json"))
    snapshot = _load_json(found[0]) if found else None
    if snapshot is None:
        return {"torch_threads": None, "runs": None, "latency_ms_median": None}
    return {
        "torch_threads": snapshot["environment"]["hardware"]["torch_threads"],
        "runs": sum(len(s["latency_ms"]) for call in snapshot["calls"] for s in call["samples"]),
        "latency_ms_median": snapshot["summary"]["latency_ms_median"],
    }


def verdict_facts(step: Record, report_path: Path) -> Record:
    """The latency_ratio verdict of the judge's JSON report; status from the exit code."""
    report = _load_json(report_path)
    tests = report["tests"] if report else []
    verdicts = [v for t in tests for v in t["verdicts"] if v["limit"] == "latency_ratio"]
    if not verdicts:
        return {"status": "error"}
    (test,) = tests
    (verdict,) = verdicts
    interval = verdict["interval"] or {}
    status = {0: "pass", 1: "fail"}.get(step["rc"], "error")
    if status == "fail" and not verdict["failed"]:
        status = "error"  # the test failed for some other reason
    return {
        "status": status,
        "outcome": verdict["outcome"],
        "observed": verdict["observed"],
        "interval": [interval.get("low"), interval.get("high")],
        "decided_by": verdict["decided_by"],
        "note": verdict["note"],
        "runs": test["candidate"]["figures"]["runs"],
        "baseline_runs": test["baseline"]["figures"]["runs"],
        "baseline_source": test["baseline"]["source"],
        "extra_seconds": test["extra_seconds"],
        "torch_threads": report["environment"]["hardware"]["torch_threads"],
    }


def benchmark_facts(step: Record, log: Path, result: Path) -> Record:
    """pytest-benchmark's verdict (exit code, its regression message) and median, seconds."""
    if step["rc"] == 0:
        status = "pass"
    elif "Performance has regressed" in log.read_text(errors="replace"):
        status = "fail"
    else:
        status = "error"
    saved = _load_json(result)
    median = saved["benchmarks"][0]["stats"]["median"] if saved else None
    return {"status": status, "median_s": median}


def run_cycle(setup: Setup, cycle: int, condition: str, logs: Path) -> Record:
    """Record, judge each candidate, then pytest-benchmark's save and compares."""
    here = logs / f"{cycle:04d}"
    shutil.rmtree(here, ignore_errors=True)  # what an interrupted attempt left
    here.mkdir(parents=True)
    order = list(setup.candidates)
    random.Random(cycle).shuffle(order)
    llm = [f"--llm-dir={here / 'llmperf'}", *setup.pytest_args]
    started = time.perf_counter()
    record = pytest_step(
        setup,
        ["tests", f"--llm-baseline={setup.models['baseline']}", "--llm-update", *llm],
        here / "record.log",
    )
    record.update(snapshot_facts(here / "llmperf"))
    llmperf = {}
    for name in order:
        report = here / f"llmperf-{name}.json"
        argv = ["tests", f"--llm-candidate={setup.models[name]}", f"--llm-report={report}", *llm]
        step = pytest_step(setup, argv, here / f"judge-{name}.log")
        llmperf[name] = {**step, **verdict_facts(step, report)}
    storage = [f"--benchmark-storage=file://{here / 'benchmarks'}"]
    benchmark = {}
    for name in ["baseline", *order]:
        result = here / f"benchmark-{name}.json"
        compare = (
            ["--benchmark-save=baseline"]
            if name == "baseline"
            else ["--benchmark-compare=0001", f"--benchmark-compare-fail={PYTEST_BENCHMARK_RULE}"]
        )
        log = here / f"benchmark-{name}.log"
        step = pytest_step(
            setup,
            ["bench", *storage, *compare, f"--benchmark-json={result}"],
            log,
            {"PREMERGE_MODEL": setup.models[name], "PYTHONPATH": str(HERE)},
        )
        benchmark[name] = {**step, **benchmark_facts(step, log, result)}
    return {
        "kind": "cycle",
        "cycle": cycle,
        "condition": condition,
        "order": order,
        "record": record,
        "llmperf": llmperf,
        "benchmark": benchmark,
        "seconds": round(time.perf_counter() - started, 2),
    }


def cycle_line(record: Record) -> str:
    """One progress line per cycle."""
    parts = []
    for name, verdict in record["llmperf"].items():
        observed = verdict.get("observed")
        shown = f"{observed:.2f}x" if observed is not None else "-"
        parts.append(f"{name} {verdict['status']} {shown} / {record['benchmark'][name]['status']}")
    return (
        f"cycle {record['cycle']:3} {record['condition']:6}  "
        + " | ".join(parts)
        + f"  ({record['seconds']:.0f} s)"
    )


# -- the JSONL file --------------------------------------------------------------------


def read_records(path: Path) -> list[Record]:
    """Every whole line of the file (a line cut off by an interruption is left out)."""
    records = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            records.append(json.loads(line))
    return records


def append_record(path: Path, record: Record) -> None:
    with path.open("a") as out:
        out.write(json.dumps(record) + "\n")
        out.flush()
        os.fsync(out.fileno())


# -- the summary -------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _inconclusive(verdict: Record) -> bool:
    """Left undecided by the interval: settled at the cap, or reported inconclusive."""
    outcome, decided_by = verdict.get("outcome", ""), verdict.get("decided_by", "")
    return outcome == "inconclusive" or decided_by.startswith("inconclusive")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _distribution(values: Sequence[float]) -> str:
    if not values:
        return "no values"
    quantiles = (percentile(values, q) for q in (0, 5, 50, 95, 100))
    return " / ".join(f"{q:.3f}" for q in quantiles) + f"  (n={len(values)})"


def _benchmark_ratio(cycle: Record, name: str) -> float | None:
    base, cand = cycle["benchmark"]["baseline"]["median_s"], cycle["benchmark"][name]["median_s"]
    return cand / base if base and cand else None


def summary(records: list[Record]) -> Iterator[str]:
    """The table, the ratio distributions and the time each step took, as lines."""
    setup = records[0]
    cycles = [r for r in records if r.get("kind") == "cycle"]
    by_condition = {
        condition: [r for r in cycles if r["condition"] == condition]
        for condition in ("quiet", "loaded")
        if any(r["condition"] == condition for r in cycles)
    }
    yield (
        f"{len(cycles)} cycles: load {setup['load']}, env {setup['env']}, "
        f"pytest args {setup['pytest_args']}"
    )
    yield ""
    yield from _table(setup, by_condition)
    yield ""
    yield "observed latency ratio: min / p5 / median / p95 / max (n); runs per judge: median"
    for name in setup["candidates"]:
        for condition, runs in by_condition.items():
            plugin = _present(r["llmperf"][name].get("observed") for r in runs)
            bench = _present(_benchmark_ratio(r, name) for r in runs)
            judged = _present(r["llmperf"][name].get("runs") for r in runs)
            runs_text = f"{statistics.median(judged):.0f}" if judged else "-"
            yield f"  {name:5} {condition:6} pytest-llmperf   {_distribution(plugin)}; {runs_text}"
            yield f"  {name:5} {condition:6} pytest-benchmark {_distribution(bench)}"
    for condition, runs in by_condition.items():
        medians = _present(r["record"]["latency_ms_median"] for r in runs)
        yield f"  the snapshot's median latency, ms, {condition}: {_distribution(medians)}"
    yield ""
    yield "torch threads (record / judges), load average at step starts, median seconds per step"
    for condition, runs in by_condition.items():
        yield from _steps(setup["candidates"], condition, runs)


def _table(setup: Record, by_condition: dict[str, list[Record]]) -> Iterator[str]:
    conditions = "/".join(condition[0] for condition in by_condition)
    yield (
        f"candidate | true ratio {'/'.join(c[0] for c in setup['true_ratio']):5} | "
        f"pytest-llmperf failed {conditions:4} | pytest-benchmark failed {conditions:4} | "
        "median observed | inconclusive | errors"
    )
    for name in setup["candidates"]:
        truth = "/".join(f"{ratios[name]:.2f}" for ratios in setup["true_ratio"].values())
        judged = {c: [r["llmperf"][name] for r in runs] for c, runs in by_condition.items()}
        bench = {c: [r["benchmark"][name] for r in runs] for c, runs in by_condition.items()}
        every = [v for values in (*judged.values(), *bench.values()) for v in values]
        observed = _present(v.get("observed") for values in judged.values() for v in values)
        median = _ratio(statistics.median(observed) if observed else None)
        yield (
            f"{name:9} | {truth:16} | {_counts(judged):26} | {_counts(bench):28} | "
            f"{median:15} | {sum(_inconclusive(v) for vs in judged.values() for v in vs):12} | "
            f"{sum(v['status'] == 'error' for v in every)}"
        )


def _counts(results: dict[str, list[Record]]) -> str:
    """Failed of decided (errors left out), per condition: `2/10, 5/10`."""
    shown = []
    for values in results.values():
        decided = [v for v in values if v["status"] != "error"]
        shown.append(f"{sum(v['status'] == 'fail' for v in decided)}/{len(decided)}")
    return ", ".join(shown)


def _steps(candidates: list[str], condition: str, runs: list[Record]) -> Iterator[str]:
    record_threads = {str(r["record"]["torch_threads"]) for r in runs}
    judge_threads = {str(v.get("torch_threads")) for r in runs for v in r["llmperf"].values()}
    steps = [("record", [r["record"] for r in runs])]
    steps += [(f"judge {name}", [r["llmperf"][name] for r in runs]) for name in candidates]
    steps += [
        (f"benchmark {name}", [r["benchmark"][name] for r in runs])
        for name in ["baseline", *candidates]
    ]
    loads = [s["loadavg"] for _, results in steps for s in results]
    yield (
        f"  {condition}: threads {','.join(sorted(record_threads))} / "
        f"{','.join(sorted(judge_threads))}; load average {_distribution(loads)}"
    )
    shown = [
        f"{step} {statistics.median(s['seconds'] for s in results):.1f}" for step, results in steps
    ]
    shown.append(f"whole cycle {statistics.median(r['seconds'] for r in runs):.1f}")
    yield "    " + ", ".join(shown)


def _present(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


# -- the command line ----------------------------------------------------------------------


def _key_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100, help="cycles in all (default 100)")
    parser.add_argument(
        "--load", type=int, default=1, help="busy processes in the loaded (odd) cycles; 0: none"
    )
    parser.add_argument(
        "--workdir", type=Path, default=HERE / "results" / "premerge", help="models, project, logs"
    )
    parser.add_argument("--out", type=Path, help="the JSONL file (default WORKDIR/premerge.jsonl)")
    parser.add_argument(
        "--pytest-args", type=shlex.split, default=[], help="extra args of record and judge"
    )
    parser.add_argument(
        "--env",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable of every process (repeatable)",
    )
    parser.add_argument("--candidates", nargs="+", choices=CANDIDATES, default=list(CANDIDATES))
    parser.add_argument("--rounds", type=int, default=100, help="pairs per true ratio")
    parser.add_argument("--python", default=sys.executable, help="the venv's python")
    parser.add_argument("--resume", action="store_true", help="continue --out where it stopped")
    parser.add_argument("--summarize", type=Path, metavar="FILE", help="print FILE's table only")
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    args.out = (args.out or args.workdir / "premerge.jsonl").resolve()
    return args


def run(args: argparse.Namespace) -> None:
    if args.out.exists() and not args.resume:
        sys.exit(f"{args.out} exists: --resume to continue it, or --out another file")
    if args.resume and args.out.exists():
        records = read_records(args.out)
        setup = Setup(**records[0])
        print(f"resuming {args.out} after {len(records) - 1} cycles with its own settings")
    else:
        os.environ.update(dict(args.env))  # before torch is imported: calibration sees it too
        args.workdir.mkdir(parents=True, exist_ok=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        setup = build_setup(args)
        append_record(args.out, asdict(setup))
        records = [asdict(setup)]
    write_project(Path(setup.workdir) / "project", setup.prompts)
    logs = args.out.with_suffix("")  # each cycle's reports, snapshots and logs: FILE/NNNN
    done = {r["cycle"] for r in records if r.get("kind") == "cycle"}
    for cycle in range(args.cycles):
        if cycle in done:
            continue
        condition = "loaded" if setup.load and cycle % 2 else "quiet"
        with busy(setup.load if condition == "loaded" else 0):
            record = run_cycle(setup, cycle, condition, logs)
        append_record(args.out, record)
        records.append(record)
        print(cycle_line(record), flush=True)
    print()
    print("\n".join(summary(records)))


def main() -> None:
    args = parse_args()
    if args.summarize:
        print("\n".join(summary(read_records(args.summarize))))
    else:
        run(args)


if __name__ == "__main__":
    main()
