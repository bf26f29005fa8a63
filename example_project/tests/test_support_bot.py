"""The budgets a team sets before a fine-tuned checkpoint may replace its support bot."""

import pytest

from qa_models import QA_ANSWERS, QA_PROMPTS


@pytest.mark.assert_within_budget  # the budget in pyproject.toml: SLA, tokens, cost, accuracy
def test_answers_right_fast_and_short(llm_candidate):
    result = llm_candidate.generate(QA_PROMPTS, expected=QA_ANSWERS)
    assert all(text.strip() for text in result.texts)


@pytest.mark.assert_within_budget(mode="fixed_length", latency_ratio=2.0, memory_ratio=3.0)
def test_speed_per_token(llm_candidate):
    """Latency per token whatever the verbosity: is the model itself slower?"""
    llm_candidate.generate(QA_PROMPTS[:8], expected=QA_ANSWERS[:8], max_new_tokens=16)
