"""What every test checkpoint is made with: a byte-level BPE tokenizer trained on a corpus,
a small GPT-2 for it, full-batch training on texts, and saving with save_pretrained.

The test models (`tests.models.tiny`) and the tests' own throwaway checkpoints build on
these four; the example project keeps its own copy, as a user's project would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

EOS = "<|endoftext|>"


def build_tokenizer(
    corpus: Iterable[str], *, vocab_size: int, special_tokens: Sequence[str] = (EOS,)
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on `corpus`, up to `vocab_size` entries.

    The first of `special_tokens` is the tokenizer's EOS, and stands for BOS and unknown
    text too.
    """
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        corpus,
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=list(special_tokens),
        show_progress=False,
    )
    eos = special_tokens[0]
    return PreTrainedTokenizerFast(
        tokenizer_object=trainer._tokenizer, eos_token=eos, bos_token=eos, unk_token=eos
    )


def gpt2(
    tokenizer: Any, *, n_layer: int, n_embd: int, n_head: int, **config: Any
) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 sized for `tokenizer` (128 positions, its EOS as BOS and
    EOS); `config` sets any other GPT2Config field."""
    return GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=128,
            n_embd=n_embd,
            n_layer=n_layer,
            n_head=n_head,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **config,
        )
    )


def train_on_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    steps: int,
    lr: float,
    weight_decay: float = 0.01,
) -> None:
    """Full-batch AdamW on the texts, each ended with EOS; loss on every real token."""
    eos = tokenizer.eos_token
    encoded = [tokenizer(text + eos)["input_ids"] for text in texts]
    width = max(len(ids) for ids in encoded)
    pad = tokenizer.eos_token_id
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in encoded])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in encoded])
    labels = input_ids.masked_fill(mask == 0, -100)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def save_checkpoint(model: Any, tokenizer: Any, out_dir: Path) -> Path:
    """save_pretrained both, as a user's fine-tuning script would."""
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
