"""A generate call as a test made it: its prompts (text or conversations) and their question
ids, the pinned decoding settings, expected answers and their scorer, the choices of multiple
choice, how many answers are sampled per question, and the load or batch size it ran at. An
eval set brings its prompts, expected answers, ids and choices."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pytest_llmperf.errors import GenerationError, ScorerError
from pytest_llmperf.evalsets import EvalSet
from pytest_llmperf.measure.capacity_steps import CapacitySpec
from pytest_llmperf.measure.load import LoadSpec
from pytest_llmperf.measure.scoring import ScoreFunction, implied_expected, resolve_scorer
from pytest_llmperf.prompts import Prompt, parse_prompts
from pytest_llmperf.scorers import Scorer, UserScorer, choice_index, contains

MAX_BATCH_SIZE = 4096
Choices = tuple[tuple[str, ...] | None, ...]
LIKELIHOOD = "scorer='loglikelihood'"


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
    choices: Choices | None = None  # per prompt: an eval set's, or generate(choices=...)
    eval_set: EvalSet | None = None  # the eval set the prompts came from (as subsampled)
    # scorer="loglikelihood": each prompt's choices ranked by the model's likelihood in
    # one forward pass, nothing generated (protocol.py).
    by_likelihood: bool = False
    # Answers sampled per question: each prompt stands this many times in a row, with its
    # question id, expected answer and choices (`sampled`).
    samples_per_question: int = 1
    # generate(..., capacity=True): the highest rate that holds the SLO is searched
    # (judge/capacity.py); the call's own runs are its requests one at a time.
    capacity: CapacitySpec | None = None

    @classmethod
    def from_call(
        cls,
        prompts: Any,
        generation: Mapping[str, Any],
        expected: str | Sequence[str] | None = None,
        scorer: str | Scorer | UserScorer | None = None,
        eval_limit: int | None = None,
        choices: Any = None,
    ) -> Workload:
        """The call's workload. An eval set (limited to `eval_limit` items when it has
        more) gives the prompts, expected answers, ids and choices; inline prompts take
        `choices` (one list shared by every prompt, or a list per prompt)."""
        scorer_name, score = resolve_scorer(scorer)
        eval_set = None
        if isinstance(prompts, EvalSet):
            for name, what, given in (
                ("expected", "expected answers", expected),
                ("choices", "choices", choices),
            ):
                if given is not None:
                    raise GenerationError(
                        f"generate() was given an eval set and {name}=: the eval set brings "
                        f"its own {what}; leave out {name}=."
                    )
            eval_set = prompts.limited(eval_limit)
            prompt_list, expected = eval_set.prompts, eval_set.expected
            ids = eval_set.ids
            choices = tuple(item.choices for item in eval_set.items)
        else:
            prompt_list = parse_prompts(prompts)
            ids = tuple(str(index) for index in range(len(prompt_list)))
            choices = choices_from(choices, len(prompt_list))
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
        workload = cls(
            prompt_list,
            dict(generation),
            expected_list,
            scorer_name,
            score,
            ids=ids,
            choices=choices,
            eval_set=eval_set,
            by_likelihood=isinstance(score, Scorer) and score.by_likelihood,
        )
        if workload.by_likelihood:
            _check_likelihood(workload)
        return workload

    @property
    def max_new_tokens(self) -> int:
        return int(self.generation["max_new_tokens"])

    @property
    def sampling(self) -> bool:
        """Whether answers are sampled (do_sample=True), so that two differ."""
        return bool(self.generation.get("do_sample"))

    def sampled(self, samples: int) -> Workload:
        """Each question answered `samples` times: its prompt as many times in a row, each a
        request of its own (with its own seed: protocol.py seeds by place), all with the
        question's id, so that its answers pair with the other model's as a cluster."""
        if samples == 1:
            return self
        if self.by_likelihood:
            raise GenerationError(
                f"samples_per_question={samples} with {LIKELIHOOD}: a choice's likelihood is "
                "the same every time; leave out samples_per_question."
            )
        if not self.sampling:
            raise GenerationError(
                f"samples_per_question={samples} with greedy decoding would give the same "
                f"answer {samples} times: sample with do_sample=True (and a temperature, e.g. "
                "temperature=0.7), or leave out samples_per_question."
            )

        def each(values: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(value for value in values for _ in range(samples))

        return replace(
            self,
            prompts=each(self.prompts),
            expected=None if self.expected is None else each(self.expected),
            ids=each(self.ids),
            choices=None if self.choices is None else each(self.choices),
            samples_per_question=samples,
        )

    def delivered(self, load: LoadSpec | None, batch_size: int | None) -> Workload:
        """The workload sent under `load` or in batches of `batch_size` (at most one)."""
        if load is not None and batch_size is not None:
            raise GenerationError(
                "batch_size and load (concurrency, rate) cannot be combined: batch_size "
                "batches an in-process model, load is sent to a served one."
            )
        if self.by_likelihood and (load is not None or batch_size is not None):
            raise GenerationError(
                f"{LIKELIHOOD} scores each prompt's choices in one forward pass, one prompt "
                "at a time in process: leave out batch_size, concurrency and rate."
            )
        return replace(self, load=load, batch_size=batch_size)

    def searched(self, capacity: CapacitySpec | None) -> Workload:
        """The workload whose capacity is searched, when asked (not in batches, not ranked)."""
        if capacity is not None and (self.batch_size is not None or self.by_likelihood):
            raise GenerationError(
                "capacity=True searches a served model's request rate: leave out batch_size "
                f"and {LIKELIHOOD}."
            )
        return replace(self, capacity=capacity)

    def groups(self) -> list[tuple[int, ...]]:
        """The prompts' indices as they run: one at a time, or in batches of batch_size."""
        size = self.batch_size or 1
        indices = range(len(self.prompts))
        return [tuple(indices[start : start + size]) for start in indices[::size]]


def choices_from(value: Any, prompts: int) -> Choices | None:
    """generate()'s choices: one list of strings shared by every prompt, or one per prompt."""
    if value is None:
        return None
    shape = (
        'a list of strings shared by every prompt (choices=["Paris", "Rome"]), or one such '
        "list per prompt"
    )
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise GenerationError(f"choices={value!r:.80} is not {shape}.")
    if all(isinstance(item, str) for item in value):
        return (tuple(value),) * prompts
    lists = [item for item in value if isinstance(item, Sequence) and not isinstance(item, str)]
    if len(lists) != len(value) or not all(
        item and all(isinstance(text, str) for text in item) for item in lists
    ):
        raise GenerationError(f"choices={value!r:.80} is not {shape}.")
    if len(lists) != prompts:
        raise GenerationError(
            f"choices has {len(lists)} lists for {prompts} prompts: give one per prompt, or "
            "one list of strings shared by every prompt."
        )
    return tuple(tuple(item) for item in lists)


def _check_likelihood(workload: Workload) -> None:
    """What scorer="loglikelihood" needs before anything runs: each prompt's choices (at
    least two, none empty or repeated), the expected one among them, and no sampling."""
    if workload.expected is None:
        raise GenerationError(
            f"{LIKELIHOOD} needs each prompt's expected choice: pass expected=[...] (a "
            "choice's text or letter, one per prompt), or an eval set with `expected`."
        )
    if workload.sampling:
        raise GenerationError(
            f"{LIKELIHOOD} generates nothing, so there is nothing to sample: leave out "
            "do_sample=True."
        )
    choices = workload.choices or (None,) * len(workload.prompts)
    for index, (expected, given) in enumerate(zip(workload.expected, choices, strict=True)):
        where = f"prompt {index}"
        if workload.eval_set is not None:
            where += f" (id {workload.ids[index]!r})"
        if not given:
            raise GenerationError(
                f"{LIKELIHOOD} ranks each prompt's choices, and {where} has none: give them "
                "in the eval set's `choices` field, or as generate(..., choices=[...])."
            )
        texts = [text.strip().casefold() for text in given]
        if len(given) < 2 or not all(texts):
            raise GenerationError(
                f"{where} has the choices {list(given)!r:.160}: {LIKELIHOOD} needs at least "
                "two, none of them empty."
            )
        repeated = sorted({text for text in given if texts.count(text.strip().casefold()) > 1})
        if repeated:
            raise GenerationError(
                f"{where} repeats the choice {repeated[0]!r:.80} (ignoring case): give each "
                "choice once."
            )
        try:
            choice_index(expected, given)
        except ScorerError as error:
            raise GenerationError(f"{where}: {error}") from None


def samples_per_question_from(value: Any) -> int:
    """generate()'s samples_per_question, checked: 1 when not given."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GenerationError(
            f"samples_per_question={value!r} is not a whole number of at least 1: give how "
            "many answers to sample per question, e.g. samples_per_question=5."
        )
    return value


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
