"""Prompts as a test gives them: strings, one conversation, or a list of both."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.prompts import Conversation, parse_prompts, prompt_key

SYSTEM = {"role": "system", "content": "Be brief."}
USER = {"role": "user", "content": "Sky?"}


def test_one_conversation_is_one_prompt():
    (prompt,) = parse_prompts([SYSTEM, USER])
    assert isinstance(prompt, Conversation)
    assert prompt.as_messages() == [SYSTEM, USER]


def test_strings_and_conversations_mix():
    prompts = parse_prompts(["raw", [USER], ({"role": "user", "content": "x"},)])
    assert prompts[0] == "raw"
    assert [type(p) for p in prompts[1:]] == [Conversation, Conversation]


def test_a_conversation_and_its_raw_text_are_different_workloads():
    (conversation,) = parse_prompts([USER])
    assert prompt_key(conversation) != prompt_key(str(conversation))
    (changed,) = parse_prompts([{**SYSTEM, "content": "Be kind."}, USER])
    (original,) = parse_prompts([SYSTEM, USER])
    assert prompt_key(changed) != prompt_key(original)


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        ([], "empty list of prompts"),
        (USER, "one message, not a conversation"),
        ([[]], "prompt 0 is an empty conversation"),
        ([[USER, "text"]], "prompt 0 is not a string or a conversation"),
        ([{"role": "", "content": "x"}], "needs a 'role'"),
        ([{"role": "user", "content": 3}], "a text 'content'"),
        (42, "was given a int"),
    ],
)
def test_malformed_prompts_are_clear_errors(prompts, message):
    with pytest.raises(GenerationError, match=message):
        parse_prompts(prompts)


messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text()}
    ),
    min_size=1,
    max_size=4,
)


@given(st.lists(st.one_of(st.text(), messages), min_size=1, max_size=5))
def test_parsing_keeps_every_prompt_in_order(items):
    parsed = parse_prompts(items)
    assert len(parsed) == len(items)
    for item, prompt in zip(items, parsed, strict=True):
        assert prompt == item if isinstance(item, str) else prompt.as_messages() == item
