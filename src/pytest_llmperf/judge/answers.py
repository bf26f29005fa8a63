"""Answers paired by question: what a quality verdict compares, and the answers that changed.

Two results' answers pair by question id where both sides give one for every scored answer
(several answers to one question make a cluster); else by position, when both have as many
prompts and every pair's prompts agree where both are known (a snapshot keeps only its
prompts' hash, which was checked against today's before judging). Otherwise they do not
pair, and the verdict falls back to an unpaired interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.results import GenerationResult, PromptSample

Score = Callable[[PromptSample], float | None]


@dataclass(frozen=True)
class Question:
    """One question's scored answers on each side (one each, or several: a cluster)."""

    key: str  # the question id, else the prompt's position
    baseline: tuple[PromptSample, ...]
    candidate: tuple[PromptSample, ...]


@dataclass(frozen=True)
class Pairing:
    questions: tuple[Question, ...]  # empty when the answers do not pair
    why_unpaired: str = ""

    @property
    def paired(self) -> bool:
        return bool(self.questions)


def pair_answers(baseline: GenerationResult, candidate: GenerationResult, score: Score) -> Pairing:
    """The scored answers of both results paired by question (module docstring)."""
    base = [s for s in baseline.samples if score(s) is not None]
    cand = [s for s in candidate.samples if score(s) is not None]
    if not base or not cand:
        return Pairing((), "one side has no scored answer")
    if all(s.question_id is not None for s in (*base, *cand)):
        return _by_id(base, cand)
    if len(baseline.samples) != len(candidate.samples):
        return Pairing(
            (),
            f"the two sides answered different prompts ({len(baseline.samples)} and "
            f"{len(candidate.samples)}) and give no question ids",
        )
    questions = []
    for index, (b, c) in enumerate(zip(baseline.samples, candidate.samples, strict=True)):
        if b.prompt and c.prompt and b.prompt != c.prompt:
            return Pairing((), f"prompt {index + 1} differs between the two sides")
        if score(b) is not None and score(c) is not None:
            questions.append(Question(str(index + 1), (b,), (c,)))
    if not questions:
        return Pairing((), "no prompt was scored on both sides")
    return Pairing(tuple(questions))


def _by_id(base: Sequence[PromptSample], cand: Sequence[PromptSample]) -> Pairing:
    groups: dict[str, tuple[list[PromptSample], list[PromptSample]]] = {}
    for sample in cand:
        groups.setdefault(str(sample.question_id), ([], []))[1].append(sample)
    base_ids = set()
    for sample in base:
        base_ids.add(str(sample.question_id))
        if str(sample.question_id) in groups:
            groups[str(sample.question_id)][0].append(sample)
    if base_ids != set(groups):
        return Pairing((), "the two sides answered different question ids")
    return Pairing(tuple(Question(key, tuple(b), tuple(c)) for key, (b, c) in groups.items()))


def mean_score(samples: Sequence[PromptSample], score: Score) -> float:
    values = [value for sample in samples if (value := score(sample)) is not None]
    return sum(values) / len(values)


def changed_answers(pairing: Pairing, score: Score) -> list[dict[str, Any]]:
    """Every question whose score changed between baseline and candidate: its id, prompt,
    expected answer, both answers and scores, and the change ('right->wrong',
    'wrong->right'; 'worse' or 'better' for graded scores or several samples)."""
    changed = []
    for question in pairing.questions:
        before = mean_score(question.baseline, score)
        after = mean_score(question.candidate, score)
        if before == after:
            continue
        binary = len(question.baseline) == len(question.candidate) == 1 and {before, after} == {
            0.0,
            1.0,
        }
        if binary:
            change = "wrong->right" if after > before else "right->wrong"
        else:
            change = "better" if after > before else "worse"
        first, other = question.candidate[0], question.baseline[0]
        changed.append(
            {
                "question_id": first.question_id,
                "prompt": first.prompt or other.prompt,
                "expected": first.expected,
                "baseline": other.text,
                "candidate": first.text,
                "baseline_score": before,
                "candidate_score": after,
                "change": change,
            }
        )
    return changed
