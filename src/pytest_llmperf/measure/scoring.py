"""Scorers: is an answer right? Built-in by name, or any callable(answer, expected) -> bool."""

from __future__ import annotations

from collections.abc import Callable

from pytest_llmperf.errors import GenerationError

Scorer = Callable[[str, str], bool]


def contains(answer: str, expected: str) -> bool:
    """The expected text appears in the answer, case-insensitively (the default)."""
    return expected.strip().casefold() in answer.casefold()


def exact(answer: str, expected: str) -> bool:
    """The answer is the expected text, ignoring case and surrounding white space."""
    return answer.strip().casefold() == expected.strip().casefold()


SCORERS: dict[str, Scorer] = {"contains": contains, "exact": exact}


def resolve_scorer(scorer: str | Scorer | None) -> tuple[str, Scorer]:
    """The scorer and the name it is recorded under."""
    if scorer is None:
        return "contains", contains
    if isinstance(scorer, str):
        if scorer not in SCORERS:
            raise GenerationError(
                f"scorer={scorer!r} is not a scorer. Give one of {', '.join(SCORERS)}, or a "
                "callable(answer, expected) -> bool."
            )
        return scorer, SCORERS[scorer]
    if callable(scorer):
        name = getattr(scorer, "__qualname__", type(scorer).__qualname__)
        return f"{getattr(scorer, '__module__', '?')}.{name}", scorer
    raise GenerationError(
        f"scorer={scorer!r} is neither a scorer's name ({', '.join(SCORERS)}) nor a callable."
    )
