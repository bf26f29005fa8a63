"""The budgets a team sets before a fine-tuned checkpoint may replace its support bot."""

from pathlib import Path

import pytest

from pytest_llmperf import load_eval, scorers
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


# What customers ask about the shop's products: 400 questions with their ids and expected
# numbers (catalogue.py writes the file). Enough questions to tell a real gain from noise.
CATALOGUE = load_eval(Path(__file__).parent.parent / "evals" / "support.jsonl")
# The SLA, token and cost budgets are judged on the 32 questions above; this test judges
# quality alone, so it drops them (and no timing verdict asks for more runs).
QUALITY_ONLY = dict.fromkeys(("latency_ms", "latency_ratio", "tokens_ratio", "cost_ratio"))


# Answers are paired by question id with the baseline's. accuracy_gain=0: the fine-tune
# must be shown better, the interval of its gain above zero; a gain 400 questions cannot
# tell from noise is inconclusive, and the verdict says how many questions would settle it.
# accuracy_drop=0.05: nor may it be worse by more than 5 points (400 questions can show that).
@pytest.mark.assert_within_budget(accuracy_gain=0.0, accuracy_drop=0.05, **QUALITY_ONLY)
def test_catalogue_questions(llm_candidate):
    """The last number in the answer must be the expected one ("I do not know." is wrong)."""
    llm_candidate.generate(CATALOGUE, scorer=scorers.number(), batch_size=100)
