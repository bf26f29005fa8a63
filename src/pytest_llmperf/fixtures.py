"""What the llm_baseline and llm_candidate fixtures hand to a test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import pytest

from pytest_llmperf.errors import LlmPerfError
from pytest_llmperf.evalsets import EvalSet
from pytest_llmperf.results import GenerationResult
from pytest_llmperf.scorers import Scorer, UserScorer
from pytest_llmperf.session.session import LlmPerfSession


class LlmModel:
    """A loaded model as a test sees it: `generate` measures and records each call."""

    def __init__(
        self,
        session: LlmPerfSession,
        nodeid: str,
        role: str,
        *,
        pair_with_baseline: bool,
        mode: str | None = None,
    ) -> None:
        self._session = session
        self._nodeid = nodeid
        self._role = role
        self._pair_with_baseline = pair_with_baseline
        self._mode = mode

    @property
    def name(self) -> str:
        return self._session.model_name(self._role)

    def __repr__(self) -> str:
        return f"<LlmModel {self._role}: {self.name}>"

    def generate(
        self,
        prompts: str | Sequence[Any] | EvalSet,
        expected: str | Sequence[str] | None = None,
        scorer: str | Scorer | UserScorer | None = None,
        choices: Sequence[str] | Sequence[Sequence[str]] | None = None,
        **generate_kwargs: Any,
    ) -> GenerationResult:
        """Generate for each prompt (one request each), after warm-up, `repeats` times.

        A prompt is a string or a conversation: a list of {"role": ..., "content": ...}
        messages, rendered by the model's chat template (sent to /v1/chat/completions when
        served). `batch_size=N` generates the prompts in batches of N in process.

        `expected` (one answer per prompt) scores each answer with `scorer`: "contains" (the
        default: the expected text appears in the answer, case-insensitively), "exact", a
        scorer from pytest_llmperf.scorers (regex, number, json_valid, choice), or a
        callable(answer, expected) returning a bool or a score from 0 to 1;
        `result.accuracy` is the mean score. `prompts` may be an eval set
        (pytest_llmperf.load_eval): it brings the expected answers, question ids and choices;
        inline prompts take `choices` (one list shared by every prompt, or one per prompt).

        `scorer="loglikelihood"` (in-process models only) answers multiple choice without
        generating, as lm-evaluation-harness does: the choice whose tokens have the largest
        summed log-probability after the prompt is the answer, right when it is the
        expected choice (its text or letter). Its runs time that forward pass: they have no
        output tokens and no time to first token.

        `samples_per_question=k` (with do_sample=True) answers each question k times, each
        answer a request of its own with its own seed, all scored and kept under the
        question's id; accuracy is the mean over every answer and quality verdicts treat a
        question's answers as one cluster. The k answers are not timing repeats: each is
        measured `repeats` times like any prompt (its last run's answer is scored), so the
        call makes k times as many runs.

        `generate_kwargs` override the pinned settings (greedy, max_new_tokens) and are recorded.
        """
        __tracebackhide__ = True
        try:
            return self._session.generate(
                self._nodeid,
                self._role,
                prompts,
                expected,
                generate_kwargs,
                pair_with_baseline=self._pair_with_baseline,
                mode=self._mode,
                scorer=scorer,
                choices=choices,
            )
        except LlmPerfError as error:
            fail_with(error)


def fail_with(error: LlmPerfError) -> NoReturn:
    """Fail the test with the error's message alone, printed once: raised outside the
    `except` chain, or pytest prints the error, then "During handling...", then it again."""
    __tracebackhide__ = True
    raise pytest.fail.Exception(str(error), pytrace=False) from None
