"""What a test asks a model: a prompt is raw text or a conversation of chat messages.

A conversation is turned into the model's input by the model's own chat template in
process, and sent as `messages` to /v1/chat/completions when the model is served.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.errors import GenerationError

SHAPES = (
    "prompts are a string, a conversation (a list of {'role': ..., 'content': ...} "
    "messages), or a list of strings and conversations"
)


@dataclass(frozen=True)
class Conversation:
    """Chat messages in order, as (role, content) pairs."""

    messages: tuple[tuple[str, str], ...]

    def as_messages(self) -> list[dict[str, str]]:
        """The messages as chat templates and /v1/chat/completions take them."""
        return [{"role": role, "content": content} for role, content in self.messages]

    def __str__(self) -> str:
        return "\n".join(f"{role}: {content}" for role, content in self.messages)


Prompt = str | Conversation


def _is_message(item: Any) -> bool:
    return isinstance(item, Mapping)


def conversation(messages: Sequence[Any], where: str) -> Conversation:
    """`messages` checked as a conversation; GenerationError naming `where` (e.g. "prompt 2")
    and the message at fault when one is not a {"role", "content"} message."""
    if not messages:
        raise GenerationError(f"{where} is an empty conversation: give it a message.")
    pairs = []
    for number, message in enumerate(messages):
        at = f"{where}, message {number}"
        if not _is_message(message):
            raise GenerationError(f"{at} is a {type(message).__name__}, not a message: {SHAPES}.")
        extra = sorted(set(message) - {"role", "content"})
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or not role.strip() or not isinstance(content, str):
            raise GenerationError(
                f"{at} needs a 'role' (e.g. 'system', 'user', 'assistant') and a text "
                f"'content', got {dict(message)!r}."
            )
        if extra:
            raise GenerationError(
                f"{at} has keys {extra}: a message has only 'role' and 'content'."
            )
        pairs.append((role, content))
    return Conversation(tuple(pairs))


def parse_prompts(prompts: Any) -> tuple[Prompt, ...]:
    """The prompts of a generate() call, each a string or a Conversation."""
    if isinstance(prompts, str):
        return (prompts,)
    if isinstance(prompts, Mapping):
        raise GenerationError(
            f"generate() was given one message, not a conversation: wrap it in a list. {SHAPES}."
        )
    if not isinstance(prompts, Iterable):
        raise GenerationError(f"generate() was given a {type(prompts).__name__}: {SHAPES}.")
    items = list(prompts)
    if not items:
        raise GenerationError("generate() was given an empty list of prompts: pass at least one.")
    if all(_is_message(item) for item in items):
        return (conversation(items, "prompt 0"),)
    parsed: list[Prompt] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            parsed.append(item)
        elif isinstance(item, (list, tuple)) and all(_is_message(message) for message in item):
            parsed.append(conversation(item, f"prompt {index}"))
        else:
            raise GenerationError(
                f"prompt {index} is not a string or a conversation (it is a "
                f"{type(item).__name__}): {SHAPES}."
            )
    return tuple(parsed)


def prompt_key(prompt: Prompt) -> str:
    """The prompt as one string for digests: raw text as it is, a conversation as JSON."""
    if isinstance(prompt, str):
        return prompt
    return json.dumps({"messages": prompt.as_messages()}, ensure_ascii=False)


def text_digest(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts)).encode()).hexdigest()
