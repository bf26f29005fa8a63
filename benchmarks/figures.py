"""The machine-independent figures checked against what they claim to be.

1. FLOPs: the plugin's count (FlopCounterMode over the forward passes of one request,
   `TransformersBackend.count_figures`) against the analytic count for GPT-2 blocks, pass
   by pass: 2 x the blocks' weight-matrix parameters per token read, plus attention
   (2 x 2 x context x width per token and layer: scores and weighted sum), plus the
   output head (2 x width x vocabulary, once per pass: generate keeps only the last
   position's logits). Beside it, the rule of thumb 2 x parameters per token.
2. weights_mb against the bytes of the checkpoint on disk (model.safetensors), for a
   float32 and a float16 copy of the same model.

    python benchmarks/figures.py [--new-tokens N] [--shapes tiny,small]

Random weights are enough: a count depends on shapes and lengths, not on values.
`--min-new-tokens` pins the answer's length so that the passes are known in advance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

# The tokenizer and model builders are the repository's tests.models, not in the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmperf.backends import load_backend
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.models.tiny import QUESTIONS, build_tokenizer, prompt_for
from tiny_gpt2 import gpt2, save_checkpoint

# (layers, width, heads, vocabulary or None for the tokenizer's own)
SHAPES = {
    "tiny": (2, 64, 2, None),
    "medium": (6, 384, 6, None),
    "small": (12, 768, 12, 50257),  # GPT-2 small's shape (124M parameters)
}


def analytic_flops(config, prompt_tokens: int, new_tokens: int) -> tuple[int, int]:
    """(FLOPs of generate's forward passes for a GPT-2, their tokens read), pass by pass."""
    width, layers, vocab = config.n_embd, config.n_layer, config.vocab_size
    inner = config.n_inner or 4 * width
    block_matrices = width * 3 * width + width * width + width * inner + inner * width
    total, context = 0, 0
    # The prompt in one pass, then one pass per generated token but the last.
    for read in [prompt_tokens] + [1] * (new_tokens - 1):
        context += read
        total += 2 * read * block_matrices * layers
        total += layers * 2 * 2 * read * context * width  # q @ k^T and weights @ v
        total += 2 * width * vocab  # the head, on the last position only
    return total, prompt_tokens + new_tokens - 1


def check_flops(shape: str, root: Path, new_tokens: int) -> None:
    layers, width, heads, vocab = SHAPES[shape]
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    model = gpt2(tokenizer, n_layer=layers, n_embd=width, n_head=heads, vocab_size=vocab)
    path = save_checkpoint(model, tokenizer, root / f"{shape}-float32")
    backend = load_backend(ModelSpec(str(path), root), Settings())
    prompt = prompt_for(QUESTIONS[0])
    generation = {
        "max_new_tokens": new_tokens,
        "min_new_tokens": new_tokens,
        "do_sample": False,
        "num_beams": 1,
    }
    first = backend.count_figures(prompt, generation, seed=0)
    again = backend.count_figures(prompt, generation, seed=0)
    prompt_tokens = len(tokenizer(prompt)["input_ids"])
    expected, tokens = analytic_flops(model.config, prompt_tokens, new_tokens)
    parameters = sum(p.numel() for p in model.parameters())
    non_embedding = parameters - model.transformer.wpe.weight.numel()
    print(
        f"{shape:7} {layers} layers x {width} wide, vocab {model.config.vocab_size}, "
        f"{parameters:,} parameters; {prompt_tokens} prompt + {new_tokens} new tokens"
    )
    print(f"  counted by the plugin     {first.counted_flops:>16,} FLOPs over {tokens} tokens read")
    print(f"  analytic (GPT-2 blocks)   {expected:>16,} FLOPs")
    print(f"  counted / analytic        {first.counted_flops / expected:.6f}")
    print(
        f"  counted / (2 x non-embedding parameters x tokens read)  "
        f"{first.counted_flops / (2 * non_embedding * tokens):.3f} (the rule of thumb; the head "
        "runs once per pass, attention grows with the context)"
    )
    print(f"  a second count            {'identical' if again == first else 'DIFFERENT'}")
    check_weights(shape, model, tokenizer, root, backend.weights_mb)


def check_weights(shape: str, model, tokenizer, root: Path, float32_mb: float) -> None:
    for dtype, weights_mb in (("float32", float32_mb), ("float16", None)):
        path = root / f"{shape}-{dtype}"
        if dtype != "float32":
            save_checkpoint(model.to(getattr(torch, dtype)), tokenizer, path)
            weights_mb = load_backend(ModelSpec(str(path), root), Settings()).weights_mb
        on_disk = sum(f.stat().st_size for f in path.glob("*.safetensors"))
        print(
            f"  {dtype}: weights_mb {weights_mb:.3f} MB, model.safetensors {on_disk / 2**20:.3f} "
            f"MB on disk, weights / disk {weights_mb * 2**20 / on_disk:.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--shapes", default="tiny,medium,small")
    args = parser.parse_args(argv)
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            check_flops(shape, Path(tmp), args.new_tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
