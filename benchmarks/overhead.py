"""The plugin's reported latency against `model.generate` timed by hand, as a ratio.

Both time the same loaded model on the same prompt, in pairs whose order a seeded coin
picks, so drift on a shared machine falls on both alike. A ratio near 1.0 means the
plugin's timing (streamer for TTFT, synchronisation, pinned generation config) adds
nothing a user would not also see when timing generate themselves.

    python benchmarks/overhead.py [--pairs N] [--checkpoints DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

# The tiny checkpoints are built by the repository's tests.models, not shipped in the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmperf.backends.transformers_backend import TransformersBackend
from pytest_llmperf.judge.stats import coefficient_of_variation, paired_ratio
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.models.tiny import QUESTIONS, build_all, prompt_for


def hand_timed_ms(
    model, tokenizer, prompt: str, max_new_tokens: int, grad_mode=torch.no_grad
) -> float:
    """What a user writes: perf_counter around generate, greedy, max_new_tokens."""
    inputs = tokenizer(prompt, return_tensors="pt")
    with grad_mode():
        started = time.perf_counter()
        model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id,
        )
        return (time.perf_counter() - started) * 1000


def compare(
    name: str, path: Path, pairs: int, max_new_tokens: int, seed: int, grad_mode=torch.no_grad
) -> None:
    backend = TransformersBackend.load(ModelSpec(str(path), Path.cwd()), Settings(device="cpu"))
    model, tokenizer = backend._model, backend._tokenizer
    prompt = prompt_for(QUESTIONS[0])
    generation = {"do_sample": False, "num_beams": 1, "max_new_tokens": max_new_tokens}
    for _ in range(5):  # warm-up, both ways
        backend.complete(prompt, generation, seed)
        hand_timed_ms(model, tokenizer, prompt, max_new_tokens)
    coin = random.Random(seed)
    plugin, bare = [], []
    tokens = None
    for _ in range(pairs):
        if coin.random() < 0.5:
            plugin.append(backend.complete(prompt, generation, seed).run.latency_ms)
            bare.append(hand_timed_ms(model, tokenizer, prompt, max_new_tokens, grad_mode))
        else:
            bare.append(hand_timed_ms(model, tokenizer, prompt, max_new_tokens, grad_mode))
            completion = backend.complete(prompt, generation, seed)
            plugin.append(completion.run.latency_ms)
            tokens = completion.run.output_tokens
    print(
        f"{name:8} bare under {grad_mode.__name__:14} tokens {tokens:2}"
        f" | plugin median {np.median(plugin):6.2f} ms, CV {coefficient_of_variation(plugin):.2f}"
        f" | bare median {np.median(bare):6.2f} ms, CV {coefficient_of_variation(bare):.2f}"
        f" | plugin/bare: ratio of medians {np.median(plugin) / np.median(bare):.3f},"
        f" paired {paired_ratio(bare, plugin):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--checkpoints", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.checkpoints or Path(tempfile.mkdtemp(prefix="llmperf-bench-"))
    if not (root / "baseline" / "config.json").exists():
        build_all(root)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, {args.pairs} pairs per line")
    # baseline: 2 layers, stops after ~3 tokens; verbose: 2 layers, ~36 tokens;
    # slow: 16 layers with 8x wider MLPs, ~3 tokens.
    # The plugin generates under inference_mode; timed by hand under the same, what is
    # left between the two is the plugin's own cost.
    for grad_mode in (torch.no_grad, torch.inference_mode):
        for name in ("baseline", "verbose", "slow"):
            compare(name, root / name, args.pairs, 48, args.seed, grad_mode)


if __name__ == "__main__":
    main()
