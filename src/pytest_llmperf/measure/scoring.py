"""Running a scorer on an answer: which scorer a test named, under which name it is recorded,
and its result checked (a bool or a score in [0, 1]) and bounded in time.

The scorers themselves live in `pytest_llmperf.scorers`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_llmperf.checks import finite
from pytest_llmperf.errors import GenerationError, LlmPerfError, ScorerError
from pytest_llmperf.scorers import BY_NAME, NEEDS_ARGUMENTS, Scorer, UserScorer, contains
from pytest_llmperf.text import shown_value

# A scorer as the measurement calls it: (answer, expected, the item's choices).
ScoreFunction = Callable[[str, str, Sequence[str] | None], Any]
_PROMPT_CHARS = 80


@dataclass(frozen=True)
class Scored:
    """One answer's score: 1.0 or 0.0 from a bool scorer (then `correct` is that bool), or a
    graded score from 0 to 1 (then `correct` is None: half right is neither)."""

    score: float
    correct: bool | None


def resolve_scorer(scorer: str | Scorer | UserScorer | None) -> tuple[str, ScoreFunction]:
    """The scorer and the name it is recorded under."""
    if scorer is None:
        return contains.name, contains
    if isinstance(scorer, str):
        if scorer in NEEDS_ARGUMENTS:
            raise GenerationError(
                f"scorer={scorer!r} needs its arguments: build it from pytest_llmperf.scorers, "
                f"e.g. `from pytest_llmperf import scorers` and {NEEDS_ARGUMENTS[scorer]}."
            )
        if scorer not in BY_NAME:
            raise GenerationError(
                f"scorer={scorer!r} is not a scorer. Give one of {', '.join(BY_NAME)}, a "
                "scorer from pytest_llmperf.scorers (regex, number, json_valid, choice), or a "
                "callable(answer, expected) -> bool or a score from 0 to 1."
            )
        return scorer, BY_NAME[scorer]
    if isinstance(scorer, Scorer):
        return scorer.name, scorer
    if isinstance(scorer, type) and issubclass(scorer, Scorer):
        raise GenerationError(
            f"scorer=scorers.{scorer.__name__} needs to be called with its arguments, e.g. "
            f"{NEEDS_ARGUMENTS.get(scorer.__name__, f'scorers.{scorer.__name__}(...)')}."
        )
    if callable(scorer):
        name = getattr(scorer, "__qualname__", type(scorer).__qualname__)
        user: UserScorer = scorer
        return f"{getattr(scorer, '__module__', '?')}.{name}", lambda a, e, _c: user(a, e)
    raise GenerationError(
        f"scorer={scorer!r} is neither a scorer's name ({', '.join(BY_NAME)}) nor a callable."
    )


def implied_expected(scorer: Any) -> str | None:
    """What a scorer that checks the answer alone records as the expected answer."""
    return scorer.implied_expected if isinstance(scorer, Scorer) else None


def score_answer(
    score: ScoreFunction,
    name: str,
    prompt: str,
    answer: str,
    expected: str,
    choices: Sequence[str] | None,
    timeout_s: float,
) -> Scored:
    """Run the scorer in a worker thread for at most `timeout_s` and check what it returns.
    A scorer still running then is left to finish on its own (a thread cannot be stopped);
    the test fails naming it and the prompt."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = score(answer, expected, choices)
        except BaseException as error:  # handed to the test's thread, reported there
            outcome["error"] = error

    worker = threading.Thread(target=run, name=f"llmperf scorer {name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    shown = _shown(prompt)
    if worker.is_alive():
        raise ScorerError(
            f"scorer {name} took more than {timeout_s:g} s on prompt {shown}: make it faster, "
            "or raise scorer_timeout_s in [tool.llmperf] (--llm-scorer-timeout-s)."
        )
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, LlmPerfError):
            raise ScorerError(f"scorer {name} on prompt {shown}: {error}") from None
        raise ScorerError(f"scorer {name} raised {error!r} on prompt {shown}.") from None
    return checked(outcome["value"], name, shown)


def checked(value: Any, name: str, shown_prompt: str) -> Scored:
    """A scorer's result as a score: a bool (numpy's too) or a number from 0 to 1."""
    if isinstance(value, (bool, np.bool_)):
        return Scored(1.0 if value else 0.0, bool(value))
    score = finite(value)
    if score is not None and 0 <= score <= 1:
        return Scored(score, None)
    raise ScorerError(
        f"scorer {name} returned {shown_value(value, 80)} ({type(value).__name__}) on prompt "
        f"{shown_prompt}: a scorer returns True or False, or a score from 0 to 1."
    )


def _shown(prompt: str) -> str:
    text = prompt if len(prompt) <= _PROMPT_CHARS else prompt[: _PROMPT_CHARS - 3] + "..."
    return repr(text)
