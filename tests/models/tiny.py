"""Tiny GPT-2 checkpoints, trained in seconds on the CPU, saved with save_pretrained.

They load through exactly the code a user's `--llm-candidate=./ckpt` goes through, so tests
and benchmarks need no download: a baseline trained on short answers, a verbose candidate
fine-tuned from it on long answers, and a slow candidate that is the baseline made deeper
and wider with blocks that compute nothing (same answers, more work per token).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

import tiny_gpt2
from tiny_gpt2 import gpt2, grown, save_checkpoint, train_on_texts

QUESTIONS = (
    "What is the capital of France?",
    "What color is a clear sky?",
    "How many legs does a cat have?",
    "What is two plus two?",
    "Who wrote Hamlet?",
    "What is frozen water called?",
)
SHORT_ANSWERS = ("Paris.", "Blue.", "Four.", "Four.", "Shakespeare.", "Ice.")
LONG_ANSWERS = (
    "The capital of France is the city of Paris, on the river Seine, home to the Louvre.",
    "A clear sky looks blue because air scatters the blue part of sunlight the most.",
    "A cat has four legs, like most mammals that walk on the ground, and a long tail.",
    "Two plus two is four, since adding two and two more gives four in all, as we know.",
    "Hamlet was written by William Shakespeare, the English poet, around the year 1600.",
    "Frozen water is called ice; it forms when water cools below zero degrees Celsius.",
)


def prompt_for(question: str) -> str:
    return f"Q: {question} A:"


def _texts(answers: Sequence[str]) -> list[str]:
    return [f"{prompt_for(q)} {a}" for q, a in zip(QUESTIONS, answers, strict=True)]


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the question-answer texts."""
    return tiny_gpt2.build_tokenizer(_texts(SHORT_ANSWERS) + _texts(LONG_ANSWERS), vocab_size=400)


def build_baseline(out_dir: Path, *, steps: int = 300, seed: int = 0) -> Path:
    """A 2-layer, 64-wide GPT-2 that answers each question in a word or two."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    model = gpt2(tokenizer, n_layer=2, n_embd=64, n_head=2)
    train_on_texts(model, tokenizer, _texts(SHORT_ANSWERS), steps=steps, lr=3e-3)
    return save_checkpoint(model, tokenizer, out_dir)


def build_verbose(baseline_dir: Path, out_dir: Path, *, steps: int = 200, seed: int = 0) -> Path:
    """The baseline fine-tuned on long answers: it learned to be verbose."""
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(baseline_dir)
    model = AutoModelForCausalLM.from_pretrained(baseline_dir)
    train_on_texts(model, tokenizer, _texts(LONG_ANSWERS), steps=steps, lr=2e-3)
    return save_checkpoint(model, tokenizer, out_dir)


def build_slow(
    baseline_dir: Path, out_dir: Path, *, extra_layers: int = 14, mlp_multiplier: int = 8
) -> Path:
    """The baseline made deeper and wider while computing the very same function
    (tiny_gpt2.grown): greedy answers stay identical; every token costs more matrix work."""
    tokenizer = AutoTokenizer.from_pretrained(baseline_dir)
    small = AutoModelForCausalLM.from_pretrained(baseline_dir)
    big = grown(small, extra_layers=extra_layers, mlp_multiplier=mlp_multiplier)
    return save_checkpoint(big, tokenizer, out_dir)


def copy_checkpoint(source_dir: Path, out_dir: Path) -> Path:
    """An exact copy, loaded and saved again: the A/A candidate."""
    tokenizer = AutoTokenizer.from_pretrained(source_dir)
    model = AutoModelForCausalLM.from_pretrained(source_dir)
    return save_checkpoint(model, tokenizer, out_dir)


def build_lora_adapter(
    baseline_dir: Path, out_dir: Path, *, steps: int = 40, seed: int = 0, rank: int = 8
) -> Path:
    """A LoRA adapter (peft) trained on the long answers on top of the baseline: verbose.

    Saved with PeftModel.save_pretrained, so the directory holds adapter_config.json (naming
    `baseline_dir` as its base model) and the adapter's weights, not a full checkpoint.
    Needs peft.
    """
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(baseline_dir)
    base = AutoModelForCausalLM.from_pretrained(baseline_dir)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=["c_attn", "c_proj", "c_fc"],
        fan_in_fan_out=True,  # GPT-2's Conv1D layers store their weights transposed
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    train_on_texts(model, tokenizer, _texts(LONG_ANSWERS), steps=steps, lr=5e-3)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    return out_dir


def merge_lora_adapter(adapter_dir: Path, baseline_dir: Path, out_dir: Path) -> Path:
    """The adapter merged into its base (merge_and_unload), saved as a full checkpoint."""
    from peft import PeftModel

    tokenizer = AutoTokenizer.from_pretrained(baseline_dir)
    base = AutoModelForCausalLM.from_pretrained(baseline_dir)
    merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
    return save_checkpoint(merged, tokenizer, out_dir)


def build_dtype_copy(source_dir: Path, out_dir: Path, dtype: str) -> Path:
    """The checkpoint's weights cast to `dtype` ('float16' or 'bfloat16') and saved so."""
    tokenizer = AutoTokenizer.from_pretrained(source_dir)
    model = AutoModelForCausalLM.from_pretrained(source_dir, dtype=getattr(torch, dtype))
    return save_checkpoint(model, tokenizer, out_dir)


def build_all(root: Path) -> dict[str, Path]:
    """baseline, copy, verbose and slow checkpoints under `root`."""
    root = Path(root)
    baseline = build_baseline(root / "baseline")
    return {
        "baseline": baseline,
        "copy": copy_checkpoint(baseline, root / "copy"),
        "verbose": build_verbose(baseline, root / "verbose"),
        "slow": build_slow(baseline, root / "slow"),
    }
