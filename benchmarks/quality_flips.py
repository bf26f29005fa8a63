"""Quality verdicts on a real model whose answers flip while the model does not change.

The flow users run: the baseline's snapshot recorded by one pytest process
(`--llm-baseline=CKPT --llm-update`), the same checkpoint judged against it by another
(`--llm-candidate=CKPT`), one test `accuracy_drop=MARGIN` over an eval file. What changes
between the two is something that flips answers but not the model:

- `sampling`: both sides sample (`do_sample=True, temperature=T`) with different seeds
  (`--llm-seed`): each question's answer is a fresh draw from the same model. R snapshots
  are recorded, each by its own process and seed, and each is judged J times (J seeds):
  R x J trials. The judging runs go through `pytest.main` one after another in one process
  apart from every recording (loading the checkpoint each time), as pytest-llmperf's own
  end-to-end tests do; `--subprocess` runs each in its own process instead (slower: torch
  is imported again each time).
- `dtype`: greedy answers recorded in float32, judged in bfloat16 and in float16
  (`--llm-dtype`): one trial each, deterministic.

Batched against unbatched cannot be tried this way: the batch size is part of a test's
recorded calls, and a snapshot refuses calls that differ from its own.

For every trial: the paired verdict (the default, from the JSON report), and the exact
comparison on the same answers (accuracy_test = "exact": fails when the measured drop is
over the margin), the accuracies and the answers changed each way.

    .venv/bin/python benchmarks/quality_flips.py --checkpoint DIR --eval FILE.jsonl
        [--flows sampling dtype] [--snapshots 10] [--judges 20] [--temperature 1.0]
        [--margin 0.02] [--workdir DIR]

Without --checkpoint and --eval it builds the example's baseline (example_project/
qa_models.py) and uses the example's eval file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "example_project"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]


def write_project(root: Path, eval_file: Path, margin: float) -> None:
    """One test: the eval set judged on accuracy_drop alone; how it generates comes from
    the environment (LLMPERF_BENCH_GENERATE, JSON), so the file stays the same."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[tool.llmperf]\nrepeats = 1\nwarmup = 0\nmax_new_tokens = 16\n"
    )
    (root / "test_flips.py").write_text(
        textwrap.dedent(
            f"""\
            import json, os

            import pytest

            from pytest_llmperf import load_eval

            EVAL = load_eval({str(eval_file)!r})
            GENERATE = json.loads(os.environ["LLMPERF_BENCH_GENERATE"])


            @pytest.mark.assert_within_budget(accuracy_drop={margin!r})
            def test_flips(llm_candidate):
                llm_candidate.generate(EVAL, **GENERATE)
            """
        )
    )


@contextlib.contextmanager
def generating(settings: dict[str, Any]) -> Iterator[None]:
    os.environ["LLMPERF_BENCH_GENERATE"] = json.dumps(settings)
    try:
        yield
    finally:
        del os.environ["LLMPERF_BENCH_GENERATE"]


def pytest_run(project: Path, args: Sequence[str], *, in_process: bool) -> int:
    """A pytest run in `project`: in this process (modules it imports are dropped after,
    as pytester does) or in its own."""
    if not in_process:
        done = subprocess.run(
            [*PYTEST, *args], cwd=project, capture_output=True, text=True, check=False
        )
        return done.returncode
    import pytest

    before = set(sys.modules)
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return int(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]))
    finally:
        os.chdir(cwd)
        for name in set(sys.modules) - before:
            if name == "test_flips" or name.startswith("test_flips"):
                del sys.modules[name]


def record(project: Path, checkpoint: Path, settings: dict[str, Any], *extra: str) -> None:
    """A fresh snapshot of the checkpoint, recorded by a process of its own."""
    with generating(settings):
        rc = pytest_run(
            project, [f"--llm-baseline={checkpoint}", "--llm-update", *extra], in_process=False
        )
    if rc != 0:
        raise SystemExit(f"recording failed (pytest exit {rc}) in {project}")


def judge(
    project: Path,
    checkpoint: Path,
    settings: dict[str, Any],
    *extra: str,
    in_process: bool,
) -> dict[str, Any]:
    """The checkpoint judged against the snapshot: the accuracy_drop verdict's record."""
    report = project / "report.json"
    report.unlink(missing_ok=True)
    args = [f"--llm-candidate={checkpoint}", f"--llm-report={report}", *extra]
    with generating(settings):
        pytest_run(project, args, in_process=in_process)
    (test,) = json.loads(report.read_text())["tests"]
    (verdict,) = [v for v in test["verdicts"] if v["limit"] == "accuracy_drop"]
    return verdict


def trial_line(name: str, verdict: dict[str, Any], margin: float) -> dict[str, Any]:
    quality = verdict["quality"] or {}
    drop = verdict["baseline"] - verdict["candidate"]
    return {
        "trial": name,
        "paired": verdict["outcome"],
        "exact": "fail" if drop > margin + 1e-12 else "pass",
        "baseline": verdict["baseline"],
        "candidate": verdict["candidate"],
        "right_to_wrong": quality.get("right_to_wrong"),
        "wrong_to_right": quality.get("wrong_to_right"),
        "questions": quality.get("questions"),
        "interval": verdict["interval"]
        and [verdict["interval"]["low"], verdict["interval"]["high"]],
    }


def sampling_flow(args: argparse.Namespace, project: Path) -> Iterator[dict[str, Any]]:
    settings = {"do_sample": True, "temperature": args.temperature, "batch_size": 32}
    for r in range(args.snapshots):
        record(project, args.checkpoint, settings, f"--llm-seed={1000 + r}")
        for j in range(args.judges):
            verdict = judge(
                project,
                args.checkpoint,
                settings,
                f"--llm-seed={2000 + r * args.judges + j}",
                in_process=not args.subprocess,
            )
            yield trial_line(f"sampling r{r} j{j}", verdict, args.margin)


def dtype_flow(args: argparse.Namespace, project: Path) -> Iterator[dict[str, Any]]:
    greedy = {"batch_size": 32}
    record(project, args.checkpoint, greedy, "--llm-dtype=float32")
    for dtype in ("bfloat16", "float16"):
        verdict = judge(project, args.checkpoint, greedy, f"--llm-dtype={dtype}", in_process=False)
        yield trial_line(f"float32 -> {dtype}", verdict, args.margin)


FLOWS = {"sampling": sampling_flow, "dtype": dtype_flow}


def summary(lines: list[dict[str, Any]], flow: str) -> str:
    count = len(lines)
    shares = {
        outcome: sum(line["paired"] == outcome for line in lines) / count
        for outcome in ("FAIL", "pass", "inconclusive")
    }
    exact = sum(line["exact"] == "fail" for line in lines) / count
    flips = [line["right_to_wrong"] + line["wrong_to_right"] for line in lines]
    return (
        f"| {flow} | {count} | {shares['FAIL']:.1%} | {shares['pass']:.1%} | "
        f"{shares['inconclusive']:.1%} | {exact:.1%} | {min(flips)}-{max(flips)} |"
    )


def example_inputs(workdir: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(EXAMPLE))
    from qa_models import build_all  # the example's own builder

    (path,) = build_all(workdir / "checkpoints", names=("baseline",)).values()
    evals = sorted((EXAMPLE / "evals").glob("*.jsonl"))
    if not evals:
        raise SystemExit("the example has no eval file: pass --eval FILE.jsonl")
    return path, evals[0]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--eval", type=Path)
    parser.add_argument("--flows", nargs="+", default=list(FLOWS), choices=list(FLOWS))
    parser.add_argument("--snapshots", type=int, default=10)
    parser.add_argument("--judges", type=int, default=20)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--subprocess", action="store_true")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path, help="JSONL of every trial")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="llmperf-quality-flips-"))
    if args.checkpoint is None or args.eval is None:
        args.checkpoint, args.eval = example_inputs(workdir)
    args.checkpoint, args.eval = args.checkpoint.resolve(), args.eval.resolve()
    import torch  # noqa: F401  (imported once, before the in-process runs)
    import transformers  # noqa: F401

    print(f"{args.checkpoint} on {args.eval}, accuracy_drop={args.margin:g}")
    print()
    print("| flow | trials | paired: fail | pass | inconclusive | exact: fail | answers changed |")
    print("|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    for flow in args.flows:
        project = workdir / f"project-{flow}"
        write_project(project, args.eval, args.margin)
        lines = []
        for line in FLOWS[flow](args, project):
            lines.append(line)
            if args.out:
                with args.out.open("a") as out:
                    out.write(json.dumps(line) + "\n")
            print(f"  {json.dumps(line)}", file=sys.stderr, flush=True)
        print(summary(lines, flow), flush=True)
    print()
    print(f"({time.perf_counter() - started:.0f} s; work in {workdir})")


if __name__ == "__main__":
    main()
