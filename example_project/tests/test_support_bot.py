"""The budgets a team sets for its support bot before a checkpoint may ship."""

import pytest

PROMPTS = [
    "Q: What is the capital of France? A:",
    "Q: What color is a clear sky? A:",
    "Q: How many legs does a cat have? A:",
    "Q: What is two plus two? A:",
    "Q: Who wrote Hamlet? A:",
    "Q: What is frozen water called? A:",
]


@pytest.mark.assert_within_budget(latency_ratio=1.5, tokens_ratio=1.1, cost_ratio=1.1, latency_ms=400)
def test_answers_stay_fast_and_short(llm_candidate):
    result = llm_candidate.generate(PROMPTS)
    assert all(text.strip() for text in result.texts)


@pytest.mark.assert_within_budget(ttft_ratio=1.5, memory_ratio=2.0)
def test_first_token_arrives_quickly(llm_candidate):
    llm_candidate.generate(PROMPTS[:2], max_new_tokens=8)
