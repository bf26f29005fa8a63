"""Endpoint models: naming them, reading their streams, and each fault, against a fake server."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_llmperf.backends.endpoint import EndpointBackend
from pytest_llmperf.backends.openai_stream import MalformedStreamError, StreamedAnswer
from pytest_llmperf.errors import ConfigError, GenerationError, ModelLoadError
from pytest_llmperf.measure.load import LoadSpec
from pytest_llmperf.measure.protocol import Protocol, Workload, measure
from pytest_llmperf.prompts import parse_prompts
from pytest_llmperf.settings.endpoint_spec import EndpointSpec, parse_endpoint
from pytest_llmperf.settings.settings import ModelSpec
from tests.servers import fake_server

GREEDY = {"do_sample": False, "num_beams": 1, "max_new_tokens": 16}


# -- naming ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base_url", "served"),
    [
        ("gpt2@http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1", "gpt2"),
        (
            "org/model@https://staging.example.com/v1/",
            "https://staging.example.com/v1",
            "org/model",
        ),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1", None),
        ("/ckpts/a@main@http://h:1/v1", "http://h:1/v1", "/ckpts/a@main"),
    ],
)
def test_an_endpoint_is_named_by_model_and_base_url(name, base_url, served):
    assert parse_endpoint(name, where="--llm-candidate") == EndpointSpec(base_url, served)


def test_a_checkpoint_name_is_not_an_endpoint(tmp_path):
    assert parse_endpoint("./ckpt", where="--llm-candidate") is None
    assert parse_endpoint("org/model", where="--llm-candidate") is None
    assert ModelSpec("m@http://h:1/v1", tmp_path).local_path is None
    assert ModelSpec("m@http://h:1/v1", tmp_path).endpoint == EndpointSpec("http://h:1/v1", "m")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("m@http://user:secret@h:1/v1", "carries credentials"),
        ("m@http:///v1", "no host"),
        ("m@http://h:port/v1", "port"),
        ("m@http://h:1/v1?key=abc", "query or fragment"),
    ],
)
def test_a_malformed_endpoint_is_a_clear_error(name, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_endpoint(name, where="--llm-candidate")
    assert "secret" not in str(caught.value)


# -- reading streams ---------------------------------------------------------------------


def _stream(lines: list[tuple[float, str]]) -> StreamedAnswer:
    answer = StreamedAnswer(started=0.0)
    for now, line in lines:
        answer.feed(line, now)
    return answer


def _data(payload: dict) -> str:
    return "data: " + json.dumps(payload)


def test_first_token_is_the_first_chunk_with_text_not_a_role_or_empty_chunk():
    answer = _stream(
        [
            (0.1, _data({"choices": [{"delta": {"role": "assistant"}}]})),
            (0.2, _data({"choices": [{"text": ""}]})),
            (0.3, ": keep-alive comment"),
            (0.5, _data({"choices": [{"text": " Hi"}]})),
            (0.9, _data({"choices": [{"text": "!", "finish_reason": "stop"}]})),
            (1.0, "data: [DONE]"),
        ]
    )
    assert answer.first_text_at == 0.5
    assert answer.last_chunk_at == 0.9
    assert (answer.text, answer.finish_reason, answer.complete) == (" Hi!", "stop", True)


def test_usage_is_read_from_a_chunk_without_choices():
    usage = {"prompt_tokens": 3, "completion_tokens": 2}
    answer = _stream(
        [
            (0.1, _data({"choices": [{"text": "a", "finish_reason": "stop"}]})),
            (0.2, _data({"choices": [], "usage": usage})),
        ]
    )
    assert answer.usage == usage
    assert answer.text == "a"


def test_chat_deltas_carry_text_too():
    answer = _stream([(0.4, _data({"choices": [{"delta": {"content": "yo"}}]}))])
    assert (answer.text, answer.first_text_at) == ("yo", 0.4)


@pytest.mark.parametrize(
    "line",
    [
        "data: {not json",
        'data: ["a list"]',
        'data: {"choices": "text"}',
        'data: {"choices": [{"text": 3}]}',
    ],
)
def test_a_malformed_chunk_is_named(line):
    with pytest.raises(MalformedStreamError, match=r"stream chunk|not a string"):
        _stream([(0.1, line)])


def test_an_error_event_in_the_stream_is_reported():
    with pytest.raises(GenerationError, match="server reported an error in the stream: boom"):
        _stream([(0.1, _data({"error": {"message": "boom"}}))])


# -- the backend against a fake server ---------------------------------------------------


def _backend(server_url: str, model: str, **options) -> EndpointBackend:
    spec = parse_endpoint(f"{model}@{server_url}", where="--llm-candidate")
    assert spec is not None
    settings = {"timeout_s": 2.0, "key_env": None, "tokenizer_name": None} | options
    return EndpointBackend.connect(spec, flag="--llm-candidate", **settings)


def test_a_conversation_goes_to_chat_completions_as_messages():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sky?"}]
    (conversation,) = parse_prompts([messages])
    with fake_server() as server:
        backend = _backend(server.url, "ok")
        chat = backend.complete(conversation, {**GREEDY, "stop": ["."]}, seed=0)
        plain = backend.complete("Sky?", GREEDY, seed=0)
    chat_request, plain_request = server.requests
    assert chat_request["path"] == "/v1/chat/completions"
    assert chat_request["body"]["messages"] == messages
    assert chat_request["body"]["stop"] == ["."] and "prompt" not in chat_request["body"]
    assert plain_request["path"] == "/v1/completions" and "messages" not in plain_request["body"]
    assert chat.run.output_tokens == plain.run.output_tokens == 6  # the server's usage
    # Without a tokenizer the server's template is out of sight: no rendering to record.
    assert backend.rendered(conversation) is None


def test_a_streamed_completion_is_timed_at_the_first_text_and_counted_from_usage():
    with fake_server() as server:
        completion = _backend(server.url, "role-first").complete("Q?", GREEDY, seed=0)
    assert completion.text == " The sky is blue."
    assert completion.token_source == "server usage"
    assert (completion.input_tokens, completion.run.output_tokens) == (7, 6)
    # Two empty chunks arrived 0.2 s apart before any text: TTFT is at the text.
    assert completion.run.ttft_ms is not None and completion.run.ttft_ms >= 400
    assert completion.run.latency_ms >= completion.run.ttft_ms
    assert not completion.run.hit_max_new_tokens


def test_the_request_pins_greedy_decoding_and_asks_for_usage():
    with fake_server() as server:
        _backend(server.url, "ok").complete("Q?", {**GREEDY, "max_new_tokens": 3}, seed=0)
    body = server.requests[0]["body"]
    assert body["temperature"] == 0.0
    assert body["max_tokens"] == 3
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_answers_cut_at_max_tokens_are_marked():
    with fake_server() as server:
        completion = _backend(server.url, "ok").complete("Q?", {**GREEDY, "max_new_tokens": 2}, 0)
    assert completion.run.output_tokens == 2
    assert completion.run.hit_max_new_tokens


def test_usage_on_a_chunk_of_its_own_is_used():
    with fake_server() as server:
        completion = _backend(server.url, "usage-apart").complete("Q?", GREEDY, seed=0)
    assert (completion.token_source, completion.run.output_tokens) == ("server usage", 6)


def test_without_usage_or_tokenizer_the_error_says_how_to_count(tmp_path):
    with fake_server() as server, pytest.raises(GenerationError, match="candidate_tokenizer"):
        _backend(server.url, "no-usage").complete("Q?", GREEDY, seed=0)


def test_without_usage_the_tokenizer_counts(checkpoints: dict[str, Path]):
    with fake_server() as server:
        backend = _backend(server.url, "no-usage", tokenizer_name=str(checkpoints["baseline"]))
        completion = backend.complete("Q?", GREEDY, seed=0)
    assert completion.token_source == "tokenizer"
    assert completion.second_count is None
    assert completion.run.output_tokens > 1


def test_a_usage_the_tokenizer_disagrees_with_is_reported(checkpoints: dict[str, Path]):
    with fake_server() as server:
        backend = _backend(server.url, "wrong-usage", tokenizer_name=str(checkpoints["baseline"]))
        workload = Workload.from_call(["Q?"], GREEDY)
        result = measure(backend, workload, Protocol(repeats=2, warmup=0))
    count = result.token_count
    assert (count.source, count.checked, count.mismatched) == ("server usage", 2, 2)
    assert count.largest_difference > 0
    assert "differs on 2 of 2 requests" in count.describe()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("http500", r"answered HTTP 500: .*CUDA out of memory on the server"),
        ("http401", r"answered HTTP 401: .*wants an API key"),
        ("malformed", r"stream chunk that is not JSON"),
        ("truncated", r"ended before the answer finished"),
        ("not-streamed", r"instead of a stream"),
        ("hangs", r"did not finish answering within 1 s"),
    ],
)
def test_each_fault_is_a_clear_error(model, message):
    with fake_server() as server, pytest.raises(GenerationError, match=message):
        _backend(server.url, model, timeout_s=1.0).complete("Q?", GREEDY, seed=0)
    assert server.count[model] == 1  # nothing retried


def test_connection_refused_names_the_address():
    with fake_server() as server:
        url = server.url
    with pytest.raises(GenerationError, match=r"cannot connect to http://127.0.0.1:\d+/v1"):
        _backend(url, "ok").complete("Q?", GREEDY, seed=0)


def test_the_api_key_comes_from_the_named_variable_and_is_never_shown(monkeypatch):
    monkeypatch.setenv("STAGING_KEY", "sk-very-secret")
    with fake_server() as server:
        backend = _backend(server.url, "http401", key_env="STAGING_KEY")
        with pytest.raises(GenerationError) as caught:
            backend.complete("Q?", GREEDY, seed=0)
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-very-secret"
    assert "sk-very-secret" not in str(caught.value)
    assert "STAGING_KEY was not accepted" in str(caught.value)
    assert "sk-very-secret" not in json.dumps(backend.identity) + json.dumps(backend.hardware())


def test_a_named_key_variable_that_is_unset_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with fake_server() as server, pytest.raises(ConfigError, match=r"NOPE_KEY .* is not set"):
        _backend(server.url, "ok", key_env="NOPE_KEY")


def test_the_only_served_model_is_found_and_several_must_be_named():
    with fake_server(listed=("ok",)) as server:
        spec = parse_endpoint(server.url, where="--llm-candidate")
        assert spec is not None
        backend = EndpointBackend.connect(
            spec, flag="--llm-candidate", timeout_s=2, key_env=None, tokenizer_name=None
        )
        assert backend.identity["name"] == "ok"
    with (
        fake_server(listed=("a", "b")) as server,
        pytest.raises(ModelLoadError, match=r"serves 2 models \(a, b\); name one"),
    ):
        spec = parse_endpoint(server.url, where="--llm-candidate")
        assert spec is not None
        EndpointBackend.connect(
            spec, flag="--llm-candidate", timeout_s=2, key_env=None, tokenizer_name=None
        )


def test_generate_kwargs_an_endpoint_cannot_take_are_refused():
    with (
        fake_server() as server,
        pytest.raises(GenerationError, match="repetition_penalty cannot be sent"),
    ):
        _backend(server.url, "ok").complete("Q?", {**GREEDY, "repetition_penalty": 1.3}, 0)


def test_fixed_length_on_a_server_that_ignores_min_tokens_is_refused():
    generation = {**GREEDY, "max_new_tokens": 8, "min_new_tokens": 8}
    with fake_server() as server, pytest.raises(GenerationError, match="ignores min_tokens"):
        _backend(server.url, "ok").complete("Q?", generation, seed=0)
    assert server.requests[0]["body"]["ignore_eos"] is True


def test_under_load_failed_requests_are_counted_not_timed():
    with fake_server() as server:
        backend = _backend(server.url, "flaky")
        load = LoadSpec(concurrency=4, rate=None, requests=40, duration_s=30)
        workload = replace(Workload.from_call(["a?", "b?"], GREEDY), load=load)
        result = measure(backend, workload, Protocol(repeats=1, warmup=0))
    assert result.load is not None
    assert (result.load.requests, result.load.errors) == (40, 10)
    assert result.error_rate == 0.25
    assert len(result.runs) == 30
    assert "HTTP 503" in result.load.error_examples[0]
    assert server.count["flaky"] == 40  # nothing retried
