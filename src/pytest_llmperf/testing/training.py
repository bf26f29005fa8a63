"""What the tiny test checkpoints share: full-batch training on texts, and saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


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
