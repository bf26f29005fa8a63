"""A tiny chat model: a tokenizer with role tokens and a chat template, and a GPT-2 trained
briefly on a few conversations, saved with save_pretrained as a chat fine-tune is.

Each assistant turn ends with <|end|>; the generation config lists <|end|> and the EOS token
as end-of-sequence ids, as chat models' generation configs do, so generation stops at the
end of the answer both in process and behind `transformers serve`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import tiny_gpt2
from tests.models.tiny import QUESTIONS, SHORT_ANSWERS
from tiny_gpt2 import EOS, gpt2, save_checkpoint, train_on_texts

SYSTEM = "You answer in one word."
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# The same turns, written another way: a second template for the same weights.
OTHER_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} <|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def conversation(question: str, system: str = SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def _texts() -> list[str]:
    """Each conversation as the template renders it, with the assistant's answer."""
    return [
        "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in conversation(q))
        + f"<|assistant|>{a}<|end|>"
        for q, a in zip(QUESTIONS, SHORT_ANSWERS, strict=True)
    ]


def build_chat(out_dir: Path, *, steps: int = 300, seed: int = 0) -> Path:
    """A 2-layer GPT-2 that answers the conversations in a word and ends its turn."""
    torch.manual_seed(seed)
    tokenizer = tiny_gpt2.build_tokenizer(
        _texts(), vocab_size=400, special_tokens=(EOS, *ROLE_TOKENS)
    )
    tokenizer.chat_template = TEMPLATE
    model = gpt2(tokenizer, n_layer=2, n_embd=64, n_head=2)
    model.generation_config.eos_token_id = [
        tokenizer.convert_tokens_to_ids("<|end|>"),
        tokenizer.eos_token_id,
    ]
    train_on_texts(model, tokenizer, _texts(), steps=steps, lr=3e-3)
    return save_checkpoint(model, tokenizer, out_dir)


def with_template(source_dir: Path, out_dir: Path, template: str | None) -> Path:
    """The same weights with another chat template, or none (a base model's tokenizer)."""
    tokenizer = AutoTokenizer.from_pretrained(source_dir)
    model = AutoModelForCausalLM.from_pretrained(source_dir)
    tokenizer.chat_template = template
    out_dir = save_checkpoint(model, tokenizer, out_dir)
    if template is None:
        (out_dir / "chat_template.jinja").unlink(missing_ok=True)
        config_path = out_dir / "tokenizer_config.json"
        config = json.loads(config_path.read_text())
        config.pop("chat_template", None)
        config_path.write_text(json.dumps(config))
    return out_dir
