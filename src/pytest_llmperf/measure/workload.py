"""A generate call as a test made it: its prompts (text or conversations) and their question
ids, the pinned decoding settings, expected answers and their scorer, and the load or batch
size it ran at. An eval set brings its prompts, expected answers, ids and choices."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.evalsets import EvalSet
from pytest_llmperf.measure.load import LoadSpec
from pytest_llmperf.measure.scoring import ScoreFunction, implied_expected, resolve_scorer
from pytest_llmperf.prompts import Prompt, parse_prompts
from pytest_llmperf.scorers import Scorer, UserScorer, contains

MAX_BATCH_SIZE = 4096


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

    prompts: tuple[Prompt, ...]
    generation: Mapping[str, Any]
    expected: tuple[str, ...] | None = None
    scorer_name: str = "contains"
    scorer: ScoreFunction = contains
    load: LoadSpec | None = None  # requests sent under load rather than one at a time
    batch_size: int | None = None  # in process: prompts generated together, this many at once
    # Each prompt's question id, which pairs it across models and processes: an eval set's
    # ids, else the prompt's position in the call ("0", "1", ...).
    ids: tuple[str, ...] = ()
    choices: tuple[tuple[str, ...] | None, ...] | None = None  # an eval set's, per prompt
    eval_set: EvalSet | None = None  # the eval set the prompts came from (as subsampled)

    @classmethod
    def from_call(
        cls,
        prompts: Any,
        generation: Mapping[str, Any],
        expected: str | Sequence[str] | None = None,
        scorer: str | Scorer | UserScorer | None = None,
        eval_limit: int | None = None,
    ) -> Workload:
        """The call's workload. An eval set (limited to `eval_limit` items when it has
        more) gives the prompts, expected answers, ids and choices."""
        scorer_name, score = resolve_scorer(scorer)
        eval_set, choices = None, None
        if isinstance(prompts, EvalSet):
            if expected is not None:
                raise GenerationError(
                    "generate() was given an eval set and expected=: the eval set brings its "
                    "own expected answers; leave out expected=."
                )
            eval_set = prompts.limited(eval_limit)
            prompt_list, expected = eval_set.prompts, eval_set.expected
            ids = eval_set.ids
            choices = tuple(item.choices for item in eval_set.items)
        else:
            prompt_list = parse_prompts(prompts)
            ids = tuple(str(index) for index in range(len(prompt_list)))
        implied = implied_expected(scorer)
        if expected is None and implied is not None:
            expected = (implied,) * len(prompt_list)
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
        return cls(
            prompt_list,
            dict(generation),
            expected_list,
            scorer_name,
            score,
            ids=ids,
            choices=choices,
            eval_set=eval_set,
        )

    @property
    def max_new_tokens(self) -> int:
        return int(self.generation["max_new_tokens"])

    def groups(self) -> list[tuple[int, ...]]:
        """The prompts' indices as they run: one at a time, or in batches of batch_size."""
        size = self.batch_size or 1
        indices = range(len(self.prompts))
        return [tuple(indices[start : start + size]) for start in indices[::size]]


def batch_size_from(value: Any) -> int | None:
    """generate()'s batch_size, checked: None when not given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH_SIZE:
        raise GenerationError(
            f"batch_size={value!r} is not a whole number from 1 to {MAX_BATCH_SIZE}: give "
            "how many prompts generate together, e.g. batch_size=8."
        )
    return value
