"""A model behind an OpenAI-compatible server (vLLM, TGI, llama.cpp, SGLang, transformers
serve), asked through streaming /v1/completions requests (raw text) or /v1/chat/completions
requests (conversations, rendered by the server's chat template) and timed from the client.

Nothing is retried: a request that fails is reported as it failed, so that retries never
hide latency. The API key is read from the environment variable the user names, sent in
the Authorization header, and kept out of every message, snapshot and report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from pytest_llmperf.backends.base import Backend, Completion, render_conversation
from pytest_llmperf.backends.memory import NotMeasured, PeakMemoryTracker
from pytest_llmperf.backends.openai_stream import (
    DeadlinePassed,
    MalformedStreamError,
    StreamedAnswer,
    timed_lines,
)
from pytest_llmperf.checks import whole_count
from pytest_llmperf.errors import ConfigError, GenerationError, ModelLoadError
from pytest_llmperf.prompts import Conversation, Prompt
from pytest_llmperf.redaction import add_secret, redact
from pytest_llmperf.results import Run
from pytest_llmperf.settings.endpoint_spec import EndpointSpec
from pytest_llmperf.settings.parsers import conventional_env_name

# generate() keyword arguments an endpoint understands, and the request field each becomes.
_REQUEST_FIELDS = {
    "max_new_tokens": "max_tokens",
    "min_new_tokens": "min_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "stop": "stop",
}
_ACCEPTED = {*_REQUEST_FIELDS, "do_sample", "num_beams"}


class EndpointBackend(Backend):
    def __init__(
        self,
        spec: EndpointSpec,
        served_model: str,
        *,
        client: httpx.Client,
        flag: str,
        timeout_s: float,
        tokenizer: Any | None,
        tokenizer_source: str | None,
        key_env: str | None,
    ) -> None:
        self._spec = spec
        self._served_model = served_model
        self._client = client
        self._flag = flag
        self._timeout_s = timeout_s
        self._tokenizer = tokenizer
        self._tokenizer_source = tokenizer_source
        self._key_env = key_env

    @classmethod
    def connect(
        cls,
        spec: EndpointSpec,
        *,
        flag: str,
        timeout_s: float,
        key_env: str | None,
        tokenizer_name: str | None,
    ) -> EndpointBackend:
        """Check the server answers and serves the model; load the tokenizer if there is one."""
        client = httpx.Client(
            headers=_auth_headers(key_env, flag),
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        served = spec.served_model or _only_served_model(client, spec, flag)
        source = tokenizer_name or _local_checkpoint(served)
        tokenizer = _load_tokenizer(source, flag) if source else None
        return cls(
            spec,
            served,
            client=client,
            flag=flag,
            timeout_s=timeout_s,
            tokenizer=tokenizer,
            tokenizer_source=source,
            key_env=key_env,
        )

    # -- what the model is -------------------------------------------------------------------

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "name": self._served_model,
            "type": "openai-compatible endpoint",
            "base_url": self._spec.base_url,
            "tokenizer": self._tokenizer_source,
        }

    @property
    def label(self) -> str:
        return f"{self._served_model}@{self._spec.base_url} (OpenAI-compatible endpoint)"

    @property
    def device(self) -> str:
        return "endpoint"

    @property
    def serves_concurrently(self) -> bool:
        return True

    def hardware(self) -> dict[str, Any]:
        """The server's hardware is not visible from here; its address stands for it."""
        from pytest_llmperf.backends.fingerprint import cpu_model

        return {
            "device_type": "endpoint",
            "device_name": self._spec.host,
            "cpu_model": None,
            "cpu_count": None,
            "torch_threads": None,
            "client_cpu_model": cpu_model(),
        }

    @property
    def weights_mb(self) -> None:
        return None

    def memory_tracker(self) -> PeakMemoryTracker:
        return NotMeasured()

    def close(self) -> None:
        self._client.close()

    # -- generating --------------------------------------------------------------------------

    def input_token_counts(self, prompts: Sequence[Prompt], max_new_tokens: int) -> list[int]:
        """The tokenizer's counts when there is one; the server's usage replaces them per run."""
        for index, prompt in enumerate(prompts):
            if isinstance(prompt, str) and not prompt.strip():
                raise GenerationError(f"prompt {index} is empty: give it some text.")
        return [self._prompt_tokens(prompt) or 0 for prompt in prompts]

    def rendered(self, prompt: Prompt) -> str | None:
        """A conversation as the tokenizer's chat template renders it, when the tokenizer at
        hand has one (the server's own template is not visible from here)."""
        if isinstance(prompt, str):
            return prompt
        if self._tokenizer is None or not getattr(self._tokenizer, "chat_template", None):
            return None
        return render_conversation(self._tokenizer, prompt, f"tokenizer {self._tokenizer_source}")

    def _prompt_tokens(self, prompt: Prompt) -> int | None:
        """The prompt's token count by the local tokenizer; None when it cannot be told."""
        text = self.rendered(prompt)
        if self._tokenizer is None or text is None:
            return None
        add_special = not isinstance(prompt, Conversation)
        return len(self._tokenizer(text, add_special_tokens=add_special)["input_ids"])

    def complete(self, prompt: Prompt, generation: Mapping[str, Any], seed: int) -> Completion:
        body = self._request_body(prompt, generation, seed)
        route = "chat/completions" if isinstance(prompt, Conversation) else "completions"
        url = f"{self._spec.base_url}/{route}"
        started = time.perf_counter()
        answer = StreamedAnswer(started=started)
        try:
            with self._client.stream("POST", url, json=body) as response:
                self._check_response(response, url)
                deadline = started + self._timeout_s
                for line, now in timed_lines(response.iter_text(), deadline):
                    answer.feed(line, now)
        except MalformedStreamError as error:  # what the stream held, said with who sent it
            raise MalformedStreamError(f"{url}: {error}") from None
        except (httpx.TimeoutException, DeadlinePassed):
            raise GenerationError(self._too_slow(url)) from None
        except httpx.ConnectError as error:
            raise GenerationError(_unreachable(url, self._flag, error)) from None
        except httpx.HTTPError as error:
            raise GenerationError(
                f"request to {url} failed: {type(error).__name__}: {error}"
            ) from None
        return self._completion(prompt, answer, generation, url)

    def _request_body(
        self, prompt: Prompt, generation: Mapping[str, Any], seed: int
    ) -> dict[str, Any]:
        unknown = sorted(set(generation) - _ACCEPTED)
        if unknown:
            raise GenerationError(
                f"{', '.join(unknown)} cannot be sent to an OpenAI-compatible endpoint; it takes "
                f"{', '.join(sorted(_ACCEPTED))}."
            )
        if int(generation.get("num_beams", 1)) != 1:
            raise GenerationError("beam search (num_beams > 1) is not offered by endpoints.")
        asked = (
            {"messages": prompt.as_messages()}
            if isinstance(prompt, Conversation)
            else {"prompt": prompt}
        )
        body: dict[str, Any] = {
            "model": self._served_model,
            **asked,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        for key, field in _REQUEST_FIELDS.items():
            if key in generation:
                body[field] = generation[key]
        if generation.get("do_sample"):
            body.setdefault("temperature", 1.0)
            body["seed"] = seed
        else:
            body["temperature"] = 0.0
        if "min_tokens" in body and body["min_tokens"] >= body.get("max_tokens", 0):
            body["ignore_eos"] = True  # vLLM's way to make every answer max_tokens long
        return body

    def _check_response(self, response: httpx.Response, url: str) -> None:
        if response.status_code >= 400:
            response.read()
            raise GenerationError(_http_error(response, url, self._flag, self._key_env))
        kind = response.headers.get("content-type", "")
        if "text/event-stream" not in kind:
            response.read()
            raise GenerationError(
                f"{url} answered with {kind or 'no content type'} instead of a stream: the "
                "server must support stream=true (time to first token needs it). "
                f"It said: {redact(response.text)[:200]!r}"
            )

    def _completion(
        self, prompt: Prompt, answer: StreamedAnswer, generation: Mapping[str, Any], url: str
    ) -> Completion:
        if not answer.complete:
            raise GenerationError(
                f"the stream from {url} ended before the answer finished (no finish_reason and "
                "no [DONE]): the server closed the connection early."
            )
        ended = answer.last_chunk_at or answer.started
        max_tokens = int(generation.get("max_new_tokens", 0))
        usage = answer.usage or {}
        counted = self._tokenizer_counts(prompt, answer, generation)
        server_output = _usage_count(usage, "completion_tokens", url, max_tokens or None)
        if server_output is not None:
            output_tokens, source = server_output, "server usage"
            second = counted[1] if counted else None
        elif counted:
            output_tokens, source, second = counted[1], "tokenizer", None
        else:
            raise GenerationError(
                f"{url} reported no token usage and no tokenizer is set to count the tokens "
                f"of {self._served_model}: set {self._flag.removeprefix('--llm-')}_tokenizer "
                "in [tool.llmperf] (a hub id or local directory of the served model's tokenizer)."
            )
        server_input = _usage_count(usage, "prompt_tokens", url)
        input_tokens = server_input if server_input is not None else (counted or (0, 0))[0]
        _check_fixed_length(generation, output_tokens, url)
        run = Run(
            latency_ms=(ended - answer.started) * 1000,
            ttft_ms=None
            if answer.first_text_at is None
            else (answer.first_text_at - answer.started) * 1000,
            output_tokens=output_tokens,
            hit_max_new_tokens=answer.finish_reason == "length" or output_tokens >= max_tokens,
        )
        return Completion(answer.text, input_tokens, run, source, second)

    def _tokenizer_counts(
        self, prompt: Prompt, answer: StreamedAnswer, generation: Mapping[str, Any]
    ) -> tuple[int, int] | None:
        """(input, output) tokens as the local backend counts them: the output includes the
        end-of-sequence token when the answer stopped there, as generate's output does."""
        if self._tokenizer is None:
            return None
        output = len(self._tokenizer(answer.text, add_special_tokens=False)["input_ids"])
        stops = generation.get("stop") or ()
        stops = [stops] if isinstance(stops, str) else list(stops)
        cut = not any(answer.text.endswith(stop) for stop in stops)
        if stops and answer.finish_reason == "stop" and cut:
            # The server generated the stop string's tokens and cut them from the text.
            output += self._stop_tokens(answer.text, stops)
        stopped_at_eos = answer.finish_reason == "stop" and not generation.get("stop")
        if stopped_at_eos and self._tokenizer.eos_token_id is not None:
            output += 1
        return self._prompt_tokens(prompt) or 0, output

    def _stop_tokens(self, text: str, stops: Sequence[str]) -> int:
        """Tokens the stop string added after `text`: what the server cut from the answer."""
        before = len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
        most = 0
        for string in stops:
            with_stop = self._tokenizer(text + string, add_special_tokens=False)["input_ids"]
            most = max(most, len(with_stop) - before)
        return most

    def _too_slow(self, url: str) -> str:
        return (
            f"{url} did not finish answering within {self._timeout_s:g} s: raise "
            "request_timeout_s in [tool.llmperf] (--llm-request-timeout) if that is expected."
        )


def _usage_count(
    usage: Mapping[str, Any], field: str, url: str, at_most: int | None = None
) -> int | None:
    """A token count from the server's usage block, None when it sent none; a negative,
    fractional or impossible one is an error, never a measurement."""
    value = usage.get(field)
    if value is None:
        return None
    try:
        return whole_count(value, f"usage.{field}", at_most)
    except ValueError as error:
        raise GenerationError(
            f"{url} reported impossible token usage: {error}. The server's usage is wrong; "
            "fix or upgrade the server (its token counts judge the tokens and cost limits)."
        ) from None


def _check_fixed_length(generation: Mapping[str, Any], output_tokens: int, url: str) -> None:
    wanted = generation.get("min_new_tokens")
    if wanted is not None and output_tokens < int(wanted):
        raise GenerationError(
            f"{url} returned {output_tokens} tokens where min_new_tokens={wanted} asked for "
            "more: the server ignores min_tokens/ignore_eos, so fixed_length mode cannot be "
            "measured there (vLLM supports both); use natural mode."
        )


def _auth_headers(key_env: str | None, flag: str) -> dict[str, str]:
    if key_env is None:
        return {}
    key = os.environ.get(key_env)
    if not key:
        raise ConfigError(
            f"{flag}: the API key variable {_shown_name(key_env)} (api_key_env) is not set in "
            "the environment: export it, or remove api_key_env if the server needs no key."
        )
    add_secret(key)
    return {"Authorization": f"Bearer {key}"}


def _shown_name(key_env: str) -> str:
    """The variable's name when it reads as one; a name that may be the key is not shown."""
    if conventional_env_name(key_env):
        return key_env
    add_secret(key_env)
    return "(name not shown: it is not in CAPITALS and may be the key itself)"


def _only_served_model(client: httpx.Client, spec: EndpointSpec, flag: str) -> str:
    """The model a server serves when the URL did not name one: there must be exactly one."""
    url = f"{spec.base_url}/models"
    try:
        response = client.get(url)
    except httpx.ConnectError as error:
        raise ModelLoadError(_unreachable(url, flag, error)) from None
    except httpx.HTTPError as error:
        raise ModelLoadError(f"{flag}: could not list the models at {url}: {error}") from None
    try:
        response.raise_for_status()
        names = [str(item["id"]) for item in response.json()["data"]]
    except (httpx.HTTPStatusError, ValueError, KeyError, TypeError):
        raise ModelLoadError(
            f"{flag}: {url} did not list its models (HTTP {response.status_code}); name the "
            f"model in the option: {flag}=MODEL@{spec.base_url}"
        ) from None
    if len(names) != 1:
        listed = ", ".join(names) or "none"
        raise ModelLoadError(
            f"{flag}: {spec.base_url} serves {len(names)} models ({listed}); name one: "
            f"{flag}=MODEL@{spec.base_url}"
        )
    return names[0]


def _local_checkpoint(served_model: str) -> str | None:
    """A served name that is a local directory with a tokenizer (transformers serve, llama.cpp
    with a local path): its tokenizer counts tokens without any option."""
    path = Path(served_model).expanduser()
    tokenizer_files = ("tokenizer.json", "tokenizer_config.json")
    if path.is_dir() and any((path / name).is_file() for name in tokenizer_files):
        return str(path)
    return None


def _load_tokenizer(source: str, flag: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"{flag}: could not load the tokenizer {source!r} that counts the endpoint's tokens: "
            f"{str(error).splitlines()[0]}"
        ) from None


def _unreachable(url: str, flag: str, error: Exception) -> str:
    return (
        f"cannot connect to {url} ({error or 'connection refused'}): is the server running and "
        f"is the address in {flag} right?"
    )


_STATUS_HINTS = {
    401: "the server wants an API key: name its environment variable with api_key_env",
    403: "the API key was refused: check the variable named by api_key_env",
    404: "no such route or model: check the served model name and that the URL ends in /v1",
    429: "the server is rate limiting: lower the load (concurrency, rate)",
}


def _http_error(response: httpx.Response, url: str, flag: str, key_env: str | None) -> str:
    hint = _STATUS_HINTS.get(response.status_code, "")
    if response.status_code == 401 and key_env is not None:
        hint = f"the key in {_shown_name(key_env)} was not accepted"
    said = redact(" ".join(response.text.split()))[:300]  # masked before it is cut
    text = f"{url} answered HTTP {response.status_code}: {said or '(no body)'}"
    return f"{text} ({hint}; model from {flag})" if hint else f"{text} (model from {flag})"
