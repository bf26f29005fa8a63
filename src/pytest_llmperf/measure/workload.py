"""A generate call as a test made it: its prompts, the pinned decoding settings, expected
answers and their scorer, and the load it was sent under."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.measure.load import LoadSpec
from pytest_llmperf.measure.scoring import Scorer, contains, resolve_scorer


def pinned_generation(
    overrides: Mapping[str, Any], mode: str, max_new_tokens: int
) -> dict[str, Any]:
    """Greedy decoding and max_new_tokens pinned; the test's own kwargs on top.

    fixed_length mode sets min_new_tokens to max_new_tokens: every answer is as long,
    so latency per token is compared whatever the verbosity.
    """
    settings = {"do_sample": False, "num_beams": 1, "max_new_tokens": max_new_tokens}
    settings.update(overrides)
    for name in ("max_new_tokens", "min_new_tokens"):
        value = settings.get(name)
        least = 1 if name == "max_new_tokens" else 0
        if name in settings and (type(value) is not int or value < least):
            raise GenerationError(
                f"{name}={value!r} in generate(): it must be a whole number of at least {least}."
            )
    if mode == "fixed_length":
        settings["min_new_tokens"] = settings["max_new_tokens"]
    try:
        json.dumps(settings)
    except TypeError:
        raise GenerationError(
            "generate() keyword arguments must be plain values (numbers, strings, lists) so "
            f"they can be recorded; got {sorted(overrides)}."
        ) from None
    return settings


@dataclass(frozen=True)
class Workload:
    """One generate call as a test made it: prompts, settings, and optional expected answers."""

    prompts: tuple[str, ...]
    generation: Mapping[str, Any]
    expected: tuple[str, ...] | None = None
    scorer_name: str = "contains"
    scorer: Scorer = contains
    load: LoadSpec | None = None  # requests sent under load rather than one at a time

    @classmethod
    def from_call(
        cls,
        prompts: str | Sequence[str],
        generation: Mapping[str, Any],
        expected: str | Sequence[str] | None = None,
        scorer: str | Scorer | None = None,
    ) -> Workload:
        prompt_list = (prompts,) if isinstance(prompts, str) else tuple(prompts)
        if not prompt_list:
            raise GenerationError(
                "generate() was given an empty list of prompts: pass at least one."
            )
        bad = [i for i, prompt in enumerate(prompt_list) if not isinstance(prompt, str)]
        if bad:
            raise GenerationError(f"prompt {bad[0]} is not a string: prompts are str or list[str].")
        expected_list = None
        if expected is not None:
            expected_list = (expected,) if isinstance(expected, str) else tuple(expected)
            if not all(isinstance(answer, str) and answer.strip() for answer in expected_list):
                raise GenerationError("expected answers must be non-empty strings, one per prompt.")
            if len(expected_list) != len(prompt_list):
                raise GenerationError(
                    f"expected has {len(expected_list)} answers for {len(prompt_list)} prompts: "
                    "give one per prompt."
                )
        scorer_name, score = resolve_scorer(scorer)
        return cls(prompt_list, dict(generation), expected_list, scorer_name, score)

    @property
    def max_new_tokens(self) -> int:
        return int(self.generation["max_new_tokens"])
