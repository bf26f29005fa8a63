"""Timing verdicts at GPT-2 scale, as a user runs them (issue 25).

A GPT-2-small-shaped checkpoint (12 layers x 768, random weights built in place: nothing
can be downloaded here) and an exact file copy of it as the candidate; one test of three
prompts, 32 new tokens, `latency_ms=2000` (a p95 SLA the model meets by about 2x),
`latency_ratio=1.10`, `tokens_ratio=1.0`. Three flows, each its own pytest process, timed
from outside (model loading included):

1. live: `--llm-baseline=B --llm-candidate=C`;
2. record: `--llm-baseline=B --llm-update`;
3. judge: `--llm-candidate=C` against the snapshot.

Each line gives the wall time and every limit's outcome, observed value, interval and the
runs it rested on (from `--llm-report`). `--src DIR` runs another checkout's plugin (e.g.
the commit before a change, in a worktree) so that both are measured in one sitting.

    PYTHONPATH=src .venv/bin/python benchmarks/gpt2_judge.py [--repeat 2] [--src DIR ...]
        [--pytest-args="--llm-threads=2"]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = """
import pytest

PROMPTS = ["Question: what is 2 + 2?\\nAnswer:", "Question: name a colour.\\nAnswer:",
           "Question: where is Paris?\\nAnswer:"]


@pytest.mark.assert_within_budget(latency_ms=2000, latency_ratio=1.10, tokens_ratio=1.0)
def test_answers(llm_candidate):
    llm_candidate.generate(PROMPTS, max_new_tokens=32)
"""


def build_models(root: Path) -> tuple[Path, Path]:
    for where in (ROOT, ROOT / "example_project"):
        if str(where) not in sys.path:
            sys.path.insert(0, str(where))
    import torch

    from tests.models.tiny import build_tokenizer, copy_checkpoint
    from tiny_gpt2 import gpt2, save_checkpoint

    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    model = gpt2(tokenizer, n_layer=12, n_embd=768, n_head=12, vocab_size=50257)
    baseline = save_checkpoint(model, tokenizer, root / "gpt2-base")
    return baseline, copy_checkpoint(baseline, root / "gpt2-copy")


def step(src: Path, project: Path, name: str, args: list[str]) -> dict:
    report = project / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    if name != "record":
        command.append(f"--llm-report={report}")
    started = time.monotonic()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    facts: dict = {"flow": name, "seconds": round(seconds, 1), "exit": done.returncode}
    if name != "record" and report.exists():
        data = json.loads(report.read_text())
        (test,) = data["tests"]
        facts["limits"] = [
            {
                "limit": verdict["limit"],
                "outcome": verdict["outcome"],
                "observed": verdict.get("observed"),
                "interval": None
                if not verdict.get("interval")
                else [verdict["interval"]["low"], verdict["interval"]["high"]],
                "runs": None if not verdict.get("interval") else verdict["interval"]["samples"],
            }
            for verdict in test["verdicts"]
        ]
    elif done.returncode not in (0, 1):
        facts["output"] = done.stdout[-2000:] + done.stderr[-2000:]
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, nargs="+", default=[ROOT / "src"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--pytest-args", default="", help='to every pytest process, e.g. "--llm-threads=2"'
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        baseline, copy = build_models(root)
        for attempt in range(args.repeat):
            for src in args.src:
                project = root / f"project-{attempt}-{src.parent.name}"
                project.mkdir()
                (project / "test_gpt2.py").write_text(textwrap.dedent(TEST))
                extra = shlex.split(args.pytest_args)
                flows = [
                    ("live", [f"--llm-baseline={baseline}", f"--llm-candidate={copy}", *extra]),
                    ("record", [f"--llm-baseline={baseline}", "--llm-update", *extra]),
                    ("judge", [f"--llm-candidate={copy}", *extra]),
                ]
                for name, flow_args in flows:
                    facts = step(src, project, name, flow_args)
                    print(json.dumps({"src": str(src), "attempt": attempt, **facts}), flush=True)


if __name__ == "__main__":
    main()
