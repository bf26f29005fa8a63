"""Scorers: is an answer right? Each takes the model's answer and the expected one.

    from pytest_llmperf import scorers

    llm_candidate.generate(evals, scorer=scorers.number(tolerance=0.01))

`contains` (the default) and `exact` are also given by name (`scorer="exact"`); `regex`,
`number`, `json_valid` and `choice` are built with their arguments. A test may pass its own
callable(answer, expected) returning a bool, or a score from 0 to 1 (a graded answer, such
as a similarity: 0.5 counts as half right). `scorer="loglikelihood"` is another way of
answering as much as a scorer: the model generates nothing and picks the item's choice it
finds likeliest (measure/protocol.py); `loglikelihood` here checks that pick.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pytest_llmperf.checks import finite
from pytest_llmperf.errors import ScorerError
from pytest_llmperf.text import shown_value

ScoreValue = bool | float
UserScorer = Callable[[str, str], Any]  # returns a bool or a score in [0, 1]


class Scorer(ABC):
    """A built-in scorer: a name (recorded with the snapshot, so a changed argument is a
    changed workload) and the check itself. `choices` are the item's, for multiple choice."""

    name: str
    # What to show and record as the expected answer when the test gives none: set by
    # scorers that check the answer alone (json_valid), None for those that compare.
    implied_expected: str | None = None
    # True: the model answers by ranking the item's choices by their log-likelihood after
    # the prompt, in process, with no generation; the answer scored is the choice it picked.
    by_likelihood: bool = False

    @abstractmethod
    def __call__(
        self, answer: str, expected: str, choices: Sequence[str] | None = None
    ) -> ScoreValue: ...

    def __repr__(self) -> str:
        return f"scorers.{self.name}"


class _Contains(Scorer):
    name = "contains"

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        """The expected text appears in the answer, case-insensitively (the default)."""
        return expected.strip().casefold() in answer.casefold()


class _Exact(Scorer):
    name = "exact"

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        """The answer is the expected text, ignoring case and surrounding white space."""
        return answer.strip().casefold() == expected.strip().casefold()


contains = _Contains()
exact = _Exact()


class regex(Scorer):  # lower case: called like a function
    """The answer's part that `pattern` finds (its first group, or the whole match when it
    has none), compared with the expected answer as `exact` does. No match is wrong."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        if not isinstance(pattern, str):
            raise ScorerError(f"scorers.regex({pattern!r}): the pattern must be a string.")
        try:
            self.pattern = re.compile(pattern, flags)
        except re.error as error:
            raise ScorerError(
                f"scorers.regex({pattern!r}) is not a valid regular expression: {error}."
            ) from None
        self.name = f"regex({pattern!r})" if not flags else f"regex({pattern!r}, flags={flags})"

    def extract(self, answer: str) -> str | None:
        found = self.pattern.search(answer)
        if found is None:
            return None
        return found.group(1) if self.pattern.groups else found.group(0)

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        part = self.extract(answer)
        return part is not None and exact(part, expected)


# A number as people write it: a sign, thousands separators (1,234), decimals, an exponent.
# Not a piece of a word (H2O) or of a dotted version; a minus after a digit is a hyphen.
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"|(?<![\w.])[-+]?\.\d+"
)
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-"})


def last_number(text: str) -> Decimal | None:
    """The last number written in `text` (1,234.5 -> 1234.5), None when there is none."""
    found = _NUMBER.findall(text.translate(_MINUS_SIGNS))
    return Decimal(found[-1].replace(",", "")) if found else None


class number(Scorer):  # lower case: called like a function
    """The last number in the answer equals the expected number, within an absolute
    `tolerance`. Signs, decimals and thousands separators (1,234) are read."""

    def __init__(self, tolerance: float = 0) -> None:
        if not isinstance(tolerance, (int, float)) or finite(tolerance) is None or tolerance < 0:
            raise ScorerError(
                f"scorers.number(tolerance={shown_value(tolerance)}): the tolerance must be a "
                "finite number of at least 0 (an absolute difference, e.g. 0.01)."
            )
        self.tolerance = Decimal(str(tolerance))
        self.name = f"number(tolerance={tolerance!r})"

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        wanted = last_number(expected)
        if wanted is None:
            raise ScorerError(f"the expected answer {expected!r:.80} has no number in it.")
        got = last_number(answer)
        return got is not None and abs(got - wanted) <= self.tolerance


def first_json(text: str) -> Any:
    """The text as JSON, or its first {...} or [...] block that parses; raises ValueError
    when there is none."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    decoder = json.JSONDecoder()
    starts = [index for index, char in enumerate(text) if char in "{["]
    for start in starts[:200]:  # a hostile answer of brackets stays quick
        try:
            return decoder.raw_decode(text, start)[0]
        except (ValueError, RecursionError):
            continue
    raise ValueError("no JSON in the answer")


class json_valid(Scorer):  # lower case: called like a function
    """The answer (or its first {...} / [...] block) is valid JSON, and with `schema` valid
    against that JSON Schema (needs the jsonschema package). The expected answer is not
    compared: a test may leave `expected` out."""

    def __init__(self, schema: dict[str, Any] | bool | None = None) -> None:
        self.validator = None if schema is None else _validator(schema)
        if schema is None:
            self.name = "json_valid()"
            self.implied_expected = "valid JSON"
        else:
            text = json.dumps(schema, sort_keys=True, default=repr)
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            self.name = f"json_valid(schema sha256 {digest})"
            self.implied_expected = "JSON valid against the schema"

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        try:
            value = first_json(answer)
        except ValueError:
            return False
        return self.validator is None or bool(self.validator.is_valid(value))


def _validator(schema: Any) -> Any:
    try:
        import jsonschema
    except ImportError:
        raise ScorerError(
            "scorers.json_valid(schema=...) validates with the jsonschema package, which is "
            "not installed: pip install jsonschema (or pytest-llmperf[jsonschema]), or leave "
            "out the schema to check only that the answer is JSON."
        ) from None
    if not isinstance(schema, (dict, bool)):
        raise ScorerError(
            f"scorers.json_valid(schema={schema!r:.80}): a schema is a JSON Schema object (a "
            "dict), e.g. {'type': 'object', 'required': ['name']}."
        )
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise ScorerError(
            f"scorers.json_valid(schema=...): the schema is not valid: {error.message}."
        ) from None
    return cls(schema)


_LETTER_AFTER_ANSWER = re.compile(r"(?i:answer)\s*(?i:is\s*)?[:=\-]?\s*\(?([A-Z])(?![A-Za-z])")
_LETTER_IN_PARENS = re.compile(r"\(([A-Z])\)")
_LEADING_LETTER = re.compile(r"^\s*\(?([A-Z])(?:[.):\]]|\s*$)|^\s*\(?([a-z])[)\]]")
_LONE_LETTER = re.compile(r"(?<![A-Za-z'])([A-Z])(?![A-Za-z'])(?!\s+[a-z])")
_EXPECTED_LETTER = re.compile(r"^\s*\(?([A-Za-z])[.)]?\s*$")


def choice_letter(answer: str) -> str | None:
    """The choice letter an answer gives: "Answer: B", "(B)", "B." or "B) Paris" (or
    "b) Paris") at the start, or a lone capital letter ("I think B"); None when it gives
    none."""
    for pattern in (_LETTER_AFTER_ANSWER, _LETTER_IN_PARENS, _LEADING_LETTER):
        found = pattern.search(answer)
        if found:
            return next(group for group in found.groups() if group).upper()
    lone = _LONE_LETTER.findall(answer)
    return lone[-1] if lone else None


def _text_index(expected: str, choices: Sequence[str] | None) -> int | None:
    """Where the expected text stands among the choices (ignoring case and surrounding
    space), None when it is not one of them."""
    texts = [text.strip().casefold() for text in choices or ()]
    wanted = expected.strip().casefold()
    return texts.index(wanted) if wanted in texts else None


class choice(Scorer):  # lower case: called like a function
    """Multiple choice: the letter the answer gives (A-Z: "B", "(B)", "Answer: B") against
    the expected letter, or against the expected text's place among the item's choices
    ("Rome" as the second choice is B). An answer that is exactly one choice's text counts
    as that choice."""

    name = "choice()"

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        wanted = self.expected_letter(expected, choices)
        given = choice_letter(answer)
        if given is None and choices:
            texts = [text.strip().casefold() for text in choices]
            if texts.count(answer.strip().casefold()) == 1:
                given = chr(ord("A") + texts.index(answer.strip().casefold()))
        return given == wanted

    @staticmethod
    def expected_letter(expected: str, choices: Sequence[str] | None) -> str:
        index = _text_index(expected, choices)
        if index is not None:
            return chr(ord("A") + index)
        letter = _EXPECTED_LETTER.match(expected)
        if letter:
            return letter.group(1).upper()
        listed = f" nor one of the choices {list(choices)!r:.120}" if choices else ""
        raise ScorerError(
            f"the expected answer {expected!r:.80} is neither a choice letter (A-Z){listed}."
        )


def choice_index(expected: str, choices: Sequence[str]) -> int:
    """The expected choice's place among `choices`: its text (ignoring case and surrounding
    space), else its letter ("B" is the second); ScorerError when it is neither."""
    index = _text_index(expected, choices)
    if index is not None:
        return index
    letter = _EXPECTED_LETTER.match(expected)
    if letter and ord(letter.group(1).upper()) - ord("A") < len(choices):
        return ord(letter.group(1).upper()) - ord("A")
    last = chr(ord("A") + len(choices) - 1)
    raise ScorerError(
        f"the expected answer {expected!r:.80} is not one of the choices "
        f"{list(choices)!r:.160}: give one of them, or its letter (A-{last})."
    )


class _Loglikelihood(Scorer):
    """Multiple choice by the model's own likelihoods, as lm-evaluation-harness scores it
    (its `acc`): the answer is the choice whose tokens have the largest summed
    log-probability as the prompt's continuation; right when it is the expected choice
    (its text, or its letter)."""

    name = "loglikelihood"
    by_likelihood = True

    def __call__(self, answer: str, expected: str, choices: Sequence[str] | None = None) -> bool:
        if not choices:
            raise ScorerError("scorer='loglikelihood' needs the item's choices.")
        return answer in choices and choices.index(answer) == choice_index(expected, choices)


loglikelihood = _Loglikelihood()

BY_NAME: dict[str, Scorer] = {"contains": contains, "exact": exact, "loglikelihood": loglikelihood}
# Scorers that need arguments: their name alone is an error that shows how to build them.
NEEDS_ARGUMENTS = {
    "regex": 'scorer=scorers.regex(r"Answer: (\\w+)")',
    "number": "scorer=scorers.number(tolerance=0.01)",
    "json_valid": "scorer=scorers.json_valid() (or json_valid(schema={...}))",
    "choice": "scorer=scorers.choice()",
}

__all__ = [
    "Scorer",
    "choice",
    "contains",
    "exact",
    "json_valid",
    "loglikelihood",
    "number",
    "regex",
]
