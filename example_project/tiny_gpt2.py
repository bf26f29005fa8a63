"""Tiny GPT-2 checkpoints built offline in seconds: a byte-level BPE tokenizer trained on a
corpus, a small GPT-2 sized for it, full-batch training on texts, a model grown deeper and
wider without changing what it computes, and saving with save_pretrained.

The example's checkpoints (qa_models.py) are built with these; so are the test models and
the benchmarks' checkpoints of the pytest-llmperf repository, which import this module
rather than keep copies. It imports nothing from pytest-llmperf: a project's own training
code, as a user's would be.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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
    tokenizer: Any,
    *,
    n_layer: int,
    n_embd: int,
    n_head: int,
    vocab_size: int | None = None,
    **config: Any,
) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 sized for `tokenizer` (128 positions, its EOS as BOS and
    EOS; `vocab_size` for a larger vocabulary than the tokenizer's, as GPT-2 small's);
    `config` sets any other GPT2Config field."""
    return GPT2LMHeadModel(
        GPT2Config(
            vocab_size=vocab_size or len(tokenizer),
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
    batch_size: int | None = None,
    seed: int = 0,
) -> None:
    """AdamW on the texts, each ended with EOS; loss on every real token.

    `steps` optimizer steps, each on every text (full batch, the default) or, with
    `batch_size`, on the next `batch_size` of them, epoch after epoch in an order shuffled
    with `seed`: many texts (hundreds of facts) are learnt in fewer passes over them, each
    batch padded only to its own longest text.
    """
    eos = tokenizer.eos_token
    encoded = [tokenizer(text + eos)["input_ids"] for text in texts]
    pad = tokenizer.eos_token_id
    if batch_size is None:
        tensors: Iterator[tuple[torch.Tensor, torch.Tensor]] = itertools.repeat(
            _padded(encoded, pad)
        )
    else:
        tensors = (_padded(batch, pad) for batch in _shuffled_batches(encoded, batch_size, seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    for input_ids, mask in itertools.islice(tensors, steps):
        labels = input_ids.masked_fill(mask == 0, -100)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def _shuffled_batches(
    encoded: Sequence[list[int]], batch_size: int, seed: int
) -> Iterator[list[list[int]]]:
    """Batches of `batch_size` texts, each epoch in a fresh order (random.Random(seed)),
    without end."""
    order = random.Random(seed)
    while True:
        indices = list(range(len(encoded)))
        order.shuffle(indices)
        for start in range(0, len(indices), batch_size):
            yield [encoded[index] for index in indices[start : start + batch_size]]


def _padded(batch: Sequence[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """input_ids padded with `pad` to the longest in the batch, and the attention mask."""
    width = max(len(ids) for ids in batch)
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
    return input_ids, mask


def grown(small: GPT2LMHeadModel, *, extra_layers: int, mlp_multiplier: int) -> GPT2LMHeadModel:
    """`small` made deeper and wider while computing the very same function.

    Extra blocks have zero output projections, so each adds nothing to the residual stream;
    the MLPs get `mlp_multiplier` times the hidden units, the new ones with zero output
    weights. Greedy answers stay identical; every token costs more matrix work. (Function-
    preserving growth, as in Net2Net: a larger checkpoint in a second, without training.)
    """
    config = copy.deepcopy(small.config)
    old_inner = config.n_inner or 4 * config.n_embd
    config.n_inner = old_inner * mlp_multiplier
    config.n_layer = small.config.n_layer + extra_layers
    big = GPT2LMHeadModel(config)
    with torch.no_grad():
        big.transformer.wte.weight.copy_(small.transformer.wte.weight)
        big.transformer.wpe.weight.copy_(small.transformer.wpe.weight)
        big.transformer.ln_f.load_state_dict(small.transformer.ln_f.state_dict())
        for index, block in enumerate(big.transformer.h):
            source = small.transformer.h[index] if index < small.config.n_layer else None
            _fill_block(block, source, old_inner)
        big.lm_head.weight = big.transformer.wte.weight
    big.eval()
    return big


def _fill_block(block: Any, source: Any, old_inner: int) -> None:
    if source is None:  # a block that adds nothing: zero the projections into the residual
        for projection in (block.attn.c_proj, block.mlp.c_proj):
            projection.weight.zero_()
            projection.bias.zero_()
        return
    block.ln_1.load_state_dict(source.ln_1.state_dict())
    block.ln_2.load_state_dict(source.ln_2.state_dict())
    block.attn.load_state_dict(source.attn.state_dict())
    block.mlp.c_fc.weight.zero_()
    block.mlp.c_fc.bias.zero_()
    block.mlp.c_fc.weight[:, :old_inner] = source.mlp.c_fc.weight
    block.mlp.c_fc.bias[:old_inner] = source.mlp.c_fc.bias
    block.mlp.c_proj.weight.zero_()  # new hidden units write nothing back
    block.mlp.c_proj.weight[:old_inner, :] = source.mlp.c_proj.weight
    block.mlp.c_proj.bias.copy_(source.mlp.c_proj.bias)


def save_checkpoint(
    model: Any, tokenizer: Any, out_dir: Path, *, chat_template: str | None = None
) -> Path:
    """save_pretrained both, as a user's fine-tuning script would (with `chat_template` set
    on the tokenizer, when given)."""
    out_dir = Path(out_dir)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """torch's intra-op thread count set for a while, then restored (None: left as it is).

    Training on one thread gives the same weights whatever the core count (no
    thread-dependent reductions), and on a busy machine it is faster than two threads
    fighting over the cores.
    """
    saved = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
