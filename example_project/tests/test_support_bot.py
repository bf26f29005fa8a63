"""The budgets a team sets before a fine-tuned checkpoint may replace its support bot."""

import pytest

from qa_models import QA_ANSWERS, QA_CHATS, QA_PROMPTS


@pytest.mark.assert_within_budget  # the budget in pyproject.toml: SLA, tokens, cost, accuracy
def test_answers_right_fast_and_short(llm_candidate):
    result = llm_candidate.generate(QA_PROMPTS, expected=QA_ANSWERS)
    assert all(text.strip() for text in result.texts)


# 8 questions cannot bound a drop in accuracy to less than about half (the first test judges
# accuracy on all 32): this test and the next drop accuracy_drop, or it would stay
# inconclusive for every candidate, and none could be recommended.
@pytest.mark.assert_within_budget(
    mode="fixed_length", latency_ratio=2.0, memory_ratio=3.0, accuracy_drop=None
)
def test_speed_per_token(llm_candidate):
    """Latency per token whatever the verbosity: is the model itself slower?"""
    llm_candidate.generate(QA_PROMPTS[:8], expected=QA_ANSWERS[:8], max_new_tokens=16)


# The same budget, asked as the chat app asks.
@pytest.mark.assert_within_budget(accuracy_drop=None)
def test_chat_answers(llm_candidate):
    """The bot as deployed: its system prompt, then the customer's question, rendered by
    each checkpoint's own chat template."""
    llm_candidate.generate(QA_CHATS[:8], expected=QA_ANSWERS[:8])
