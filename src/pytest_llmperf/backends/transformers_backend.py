"""Hugging Face transformers: AutoTokenizer + AutoModelForCausalLM, one prompt per request."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from transformers.generation.streamers import BaseStreamer

from pytest_llmperf.backends.base import (
    Backend,
    ChoiceLikelihoods,
    Completion,
    render_conversation,
)
from pytest_llmperf.backends.checkpoint import (
    AdapterRecord,
    check_checkpoint_dir,
    describe_quantization,
    error_line,
    form_label,
    is_adapter_dir,
    read_adapter,
)
from pytest_llmperf.backends.memory import CudaPeakMemory, PeakMemoryTracker, ProcessPeakMemory
from pytest_llmperf.backends.threads import apply_threads
from pytest_llmperf.errors import GenerationError, ModelLoadError, ModelUnavailableError
from pytest_llmperf.prompts import Conversation, Prompt
from pytest_llmperf.results import ModelFigures, Run, tokens_read
from pytest_llmperf.settings.settings import ModelSpec, Settings

# Token ids are part of a model's identity; everything else in a checkpoint's
# generation_config.json (sampling, temperature, penalties) is decoding strategy, which
# the plugin pins itself so both models are decoded alike.
_TOKEN_ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")
# Settings in a generation_config.json that do not change which tokens come out.
_NOT_DECODING = {"transformers_version", "use_cache", "return_dict_in_generate"}
_NOT_DECODING |= {"output_attentions", "output_hidden_states", "output_scores", "output_logits"}
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_device(requested: str) -> torch.device:
    """'auto' picks CUDA, then MPS, then the CPU; an explicit device must exist."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"--llm-device={requested} was asked for, but CUDA is not available.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ModelLoadError(f"--llm-device={requested} was asked for, but MPS is not available.")
    return device


def _synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None


class _FirstTokenClock(BaseStreamer):
    """Takes the time when generate hands over the first new token.

    generate puts the prompt first, then each new token after it is on the host
    (a `.cpu()` copy, which already waits for the device).
    """

    def __init__(self, synchronize: Callable[[], None]) -> None:
        self._synchronize = synchronize
        self._prompt_seen = False
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
        elif self.first_token_at is None:
            self._synchronize()
            self.first_token_at = time.perf_counter()

    def end(self) -> None:
        pass


class _StepClock(BaseStreamer):
    """Takes the time at which each new token step of a batch is on the host."""

    def __init__(self, synchronize: Callable[[], None]) -> None:
        self._synchronize = synchronize
        self._prompt_seen = False
        self.step_times: list[float] = []

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._synchronize()
        self.step_times.append(time.perf_counter())

    def end(self) -> None:
        pass


class TransformersBackend(Backend):
    def __init__(
        self,
        name: str,
        model: Any,
        tokenizer: Any,
        device: torch.device,
        *,
        adapter: dict[str, Any] | None = None,
    ) -> None:
        """`adapter`, for a PEFT adapter: its 'label' (e.g. 'LoRA adapter on ./base, merged'),
        its 'identity' and its base model's 'base_model' identity."""
        self._name = name
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self._adapter = adapter
        self._synchronize = _synchronizer(device)
        self._placing_failed = False
        self._token_ids = {
            key: value
            for key in _TOKEN_ID_KEYS
            if (value := getattr(model.generation_config, key, None)) is not None
        }
        self._token_ids.setdefault("pad_token_id", tokenizer.pad_token_id)
        self._ignored_generation_config = _decoding_settings(model.generation_config)
        # What a snapshot checks for staleness: the vocabulary and rules that turn text into
        # tokens, and what the generation config sets (end-of-sequence ids included).
        self._tokenizer_sha256 = _tokenizer_sha256(tokenizer)
        self._generation_config_sha256 = _short_sha256(
            {**self._token_ids, **self._ignored_generation_config}
        )
        # generate fills every setting left unset from model.generation_config: keep only ids.
        model.generation_config = GenerationConfig(**self._token_ids)

    @classmethod
    def load(cls, spec: ModelSpec, settings: Settings) -> TransformersBackend:
        """Load a checkpoint, or a PEFT adapter on its base, in the spec's own dtype."""
        flag = spec.flag
        if spec.local_path is not None:
            check_checkpoint_dir(spec.local_path, flag)
        record = None
        weights = spec
        if spec.local_path is not None and is_adapter_dir(spec.local_path):
            from pytest_llmperf.backends.peft_adapter import base_model_spec

            record = read_adapter(spec.local_path, flag)
            weights = base_model_spec(record, spec)
        source = _source(weights)
        device = resolve_device(settings.device)
        apply_threads(settings.threads, device.type)
        dtype = spec.options.dtype
        torch_dtype = "auto" if dtype == "auto" else _DTYPES[dtype]
        trust = settings.trust_remote_code
        quantized = None
        try:
            config = AutoConfig.from_pretrained(source, trust_remote_code=trust)
            quantized = _check_quantization_runs_here(config, device, flag, spec.name)
            tokenizer = AutoTokenizer.from_pretrained(
                _tokenizer_source(record, source), trust_remote_code=trust
            )
            model = AutoModelForCausalLM.from_pretrained(
                source,
                dtype=torch_dtype,
                use_safetensors=_prefers_safetensors(weights),
                trust_remote_code=trust,
                # Quantized weights are placed as they load; .to() afterwards is refused.
                **({"device_map": device} if quantized else {}),
            )
        except ImportError as error:
            if not quantized:
                raise
            raise ModelUnavailableError(
                f"{flag}={spec.name} is quantized ({describe_quantization(quantized)}) and cannot "
                f"be loaded on {device} here: {error_line(error)}"
            ) from None
        except Exception as error:  # every loading failure gets one message, no traceback
            raise ModelLoadError(_load_failure(flag, spec, record, weights, error)) from None
        if len(tokenizer) == 0:
            raise ModelLoadError(
                f"{flag}={spec.name}: its tokenizer loaded with no vocabulary, so its files "
                "(tokenizer.json, or vocab.json and merges.txt, or tokenizer.model) are missing: "
                "save them into the checkpoint with tokenizer.save_pretrained(DIR)."
            )
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        adapter = None
        if record is not None:
            model, adapter = _with_adapter(model, record, weights, spec)
        if not quantized:
            model.to(device)
        model.eval()
        return cls(spec.name, model, tokenizer, device, adapter=adapter)

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def identity(self) -> dict[str, Any]:
        config = self._model.config
        identity = {
            "name": self._name,
            "model_type": config.model_type,
            "parameters": sum(p.numel() for p in self._model.parameters()),
            "dtype": self._dtype,
            "config_sha256": _config_sha256(config),
            "revision": getattr(config, "_commit_hash", None),
            "ignored_generation_config": self._ignored_generation_config,
            "tokenizer_sha256": self._tokenizer_sha256,
            "generation_config_sha256": self._generation_config_sha256,
        }
        if self._quantization is not None:
            identity["quantization"] = self._quantization
        if self._adapter is not None:
            identity["adapter"] = self._adapter["identity"]
            identity["base_model"] = self._adapter["base_model"]
        return identity

    @property
    def label(self) -> str:
        return form_label(
            self._name,
            self._dtype,
            adapter=None if self._adapter is None else self._adapter["label"],
            quantization=describe_quantization(self._quantization),
        )

    @property
    def places_weights_afresh(self) -> bool:
        # Quantized weights keep their own tensor classes and state: they stay where they are.
        return self._quantization is None and not self._placing_failed

    def place_weights_afresh(self) -> None:
        if not self.places_weights_afresh:
            return
        try:
            with torch.no_grad():
                for parameter in self._model.parameters():  # tied weights come once
                    parameter.data = parameter.data.clone()
        except torch.cuda.OutOfMemoryError:
            # A clone holds one tensor twice for a moment: a model that nearly fills its
            # GPU keeps the placement it has (and its ratios get no allowance for it).
            self._placing_failed = True
            torch.cuda.empty_cache()

    @property
    def _dtype(self) -> str:
        return str(self._model.dtype).removeprefix("torch.")

    @property
    def _quantization(self) -> dict[str, Any] | None:
        """The quantization transformers applied (not one it ignored), as it ended up."""
        quantizer = getattr(self._model, "hf_quantizer", None)
        if quantizer is None:
            return None
        # Through JSON: enums (quant_method) and dtypes become plain strings.
        return json.loads(quantizer.quantization_config.to_json_string(use_diff=False))

    @property
    def weights_mb(self) -> float:
        """Bytes of the parameters and buffers as stored: int8 and packed 4-bit weights at
        their own size, an unmerged adapter's matrices beside its base's."""
        return weights_bytes(self._model) / (1024 * 1024)

    def count_figures(
        self, prompt: Prompt, generation: Mapping[str, Any], seed: int
    ) -> ModelFigures:
        from pytest_llmperf.backends.flops import flop_counter

        with flop_counter() as counter:
            completion = self.complete(prompt, generation, seed)
        return ModelFigures(
            weights_mb=self.weights_mb,
            kv_cache_bytes_per_token=kv_cache_bytes_per_token(self._model),
            counted_flops=int(counter.get_total_flops()),
            counted_tokens=int(tokens_read(completion.input_tokens, completion.run.output_tokens)),
        )

    @property
    def context_length(self) -> int | None:
        return getattr(self._model.config, "max_position_embeddings", None)

    def rendered(self, prompt: Prompt) -> str:
        """Raw text as it is; a conversation through the model's own chat template, ended
        with the generation prompt (the assistant's turn), as a server renders it."""
        if isinstance(prompt, str):
            return prompt
        if not getattr(self._tokenizer, "chat_template", None):
            raise GenerationError(
                f"{self._name} has no chat template, so it cannot be given conversations: add "
                "one to its tokenizer (a chat_template.jinja file in the checkpoint directory, "
                "or the 'chat_template' setting of tokenizer_config.json, e.g. "
                "tokenizer.chat_template = ...; tokenizer.save_pretrained(DIR)), or pass "
                "raw text prompts."
            )
        return render_conversation(self._tokenizer, prompt, self._name)

    def _prompt_ids(self, prompt: Prompt) -> list[int]:
        """The prompt's tokens; a template writes its own special tokens, so none are added
        to a rendered conversation (as apply_chat_template's own tokenizing does)."""
        return self._encoded(self.rendered(prompt), isinstance(prompt, Conversation))

    def input_token_counts(self, prompts: Sequence[Prompt], max_new_tokens: int) -> list[int]:
        counts = [len(self._prompt_ids(prompt)) for prompt in prompts]
        context = self.context_length
        for index, count in enumerate(counts):
            if count == 0:
                raise GenerationError(f"prompt {index} encodes to no tokens: give it some text.")
            if context is not None and count + max_new_tokens > context:
                raise GenerationError(
                    f"prompt {index} is {count} tokens; with max_new_tokens={max_new_tokens} "
                    f"that exceeds {self._name}'s context of {context} tokens. Shorten the "
                    "prompt or lower max_new_tokens."
                )
        return counts

    def memory_tracker(self) -> PeakMemoryTracker:
        if self._device.type == "cuda":
            return CudaPeakMemory(self._device)
        return ProcessPeakMemory()

    def _generation_config(self, generation: Mapping[str, Any]) -> GenerationConfig:
        settings = {**self._token_ids, **generation}
        stop = settings.pop("stop", None)
        if stop:
            # As servers map the OpenAI `stop` field: generate ends on these strings.
            settings["stop_strings"] = [stop] if isinstance(stop, str) else list(stop)
        return GenerationConfig(**settings)

    @contextmanager
    def _out_of_memory_as_error(self, doing: str, fix: str) -> Iterator[None]:
        """CUDA running out of memory, as an error naming the model, what it was doing, and
        what to lower."""
        try:
            yield
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise GenerationError(
                f"CUDA ran out of memory {doing} with {self._name} on {self.device}: {fix}, or "
                "use --llm-dtype=bfloat16."
            ) from None

    def _generate(self, encoded: Any, config: GenerationConfig, streamer: Any) -> tuple[Any, float]:
        """generate's output and the perf_counter time it started at."""
        extra = {"tokenizer": self._tokenizer} if config.stop_strings else {}
        fix = "lower the batch size or max_new_tokens"
        with self._out_of_memory_as_error("generating", fix), torch.inference_mode():
            self._synchronize()
            started = time.perf_counter()
            output = self._model.generate(
                **encoded, generation_config=config, streamer=streamer, **extra
            )
            self._synchronize()
        return output, started

    def _answer(self, new_tokens: Sequence[int]) -> str:
        """The answer's text; a stop string it ended on stays in it, as generate and
        transformers serve leave it (some servers cut it; the token counts agree)."""
        return self._tokenizer.decode(new_tokens, skip_special_tokens=True)

    def complete(self, prompt: Prompt, generation: Mapping[str, Any], seed: int) -> Completion:
        config = self._generation_config(generation)
        ids = self._prompt_ids(prompt)
        encoded = {
            "input_ids": torch.tensor([ids], device=self._device),
            "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=self._device),
        }
        input_tokens = len(ids)
        clock = _FirstTokenClock(self._synchronize) if config.num_beams == 1 else None
        torch.manual_seed(seed)
        output, started = self._generate(encoded, config, clock)
        ended = time.perf_counter()
        new_tokens = output[0, input_tokens:]
        ttft = None if clock is None or clock.first_token_at is None else clock.first_token_at
        run = Run(
            latency_ms=(ended - started) * 1000,
            ttft_ms=None if ttft is None else (ttft - started) * 1000,
            output_tokens=int(new_tokens.shape[0]),
            hit_max_new_tokens=config.max_new_tokens is not None
            and int(new_tokens.shape[0]) >= config.max_new_tokens,
        )
        return Completion(self._answer(new_tokens.tolist()), input_tokens, run)

    def complete_batch(
        self, prompts: Sequence[Prompt], generation: Mapping[str, Any], seed: int
    ) -> list[Completion]:
        """One generate over the prompts, padded on the left with an attention mask; each
        request is timed until the step of its own last token."""
        config = self._generation_config(generation)
        if config.num_beams != 1:
            raise GenerationError("batch_size needs num_beams=1: beam search is not batched.")
        rows = [self._prompt_ids(prompt) for prompt in prompts]
        width = max(len(ids) for ids in rows)
        pad = self._token_ids.get("pad_token_id")
        pad = 0 if pad is None else pad
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in rows])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in rows])
        encoded = {"input_ids": input_ids.to(self._device), "attention_mask": mask.to(self._device)}
        clock = _StepClock(self._synchronize)
        torch.manual_seed(seed)
        output, started = self._generate(encoded, config, clock)
        completions = []
        for row, ids in enumerate(rows):
            tokens = self._unpadded(output[row, width:].tolist(), config)
            last = clock.step_times[len(tokens) - 1] if tokens else started
            run = Run(
                latency_ms=(last - started) * 1000,
                ttft_ms=(clock.step_times[0] - started) * 1000 if clock.step_times else None,
                output_tokens=len(tokens),
                hit_max_new_tokens=config.max_new_tokens is not None
                and len(tokens) >= config.max_new_tokens,
            )
            completions.append(Completion(self._answer(tokens), len(ids), run))
        return completions

    @property
    def scores_likelihoods(self) -> bool:
        return True

    def choice_likelihoods(self, prompt: Prompt, choices: Sequence[str]) -> ChoiceLikelihoods:
        """Each choice's tokens after the prompt's, as lm-evaluation-harness encodes a
        continuation (`split_continuation`), in one forward pass over every choice (padded
        on the right, which a causal model never looks back at); timed from the pass's start
        until the sums are on the host. Nothing is generated: no output tokens, no TTFT."""
        conversation = isinstance(prompt, Conversation)
        rendered = self.rendered(prompt)
        context, _ = split_continuation(rendered, "", conversation=conversation)
        context_ids = self._encoded(context, conversation)
        if not context_ids:
            raise GenerationError("the prompt encodes to no tokens: give it some text.")
        rows = []
        for choice in choices:
            _, continuation = split_continuation(rendered, choice, conversation=conversation)
            tokens = self._encoded(context + continuation, conversation)[len(context_ids) :]
            if not tokens:
                raise GenerationError(
                    f"the choice {choice!r:.80} encodes to no tokens after the prompt: give "
                    "it some text."
                )
            rows.append([*context_ids, *tokens])
        width = max(len(row) for row in rows)
        self._check_fits(width)
        pad = self._token_ids.get("pad_token_id")
        pad = 0 if pad is None else pad
        input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
        fix = "shorten the prompt or the choices"
        with self._out_of_memory_as_error("scoring choices", fix), torch.inference_mode():
            self._synchronize()
            started = time.perf_counter()
            logits = self._model(
                input_ids=input_ids.to(self._device), attention_mask=mask.to(self._device)
            ).logits
            sums = continuation_loglikelihoods(logits, rows, len(context_ids)).tolist()
            ended = time.perf_counter()
        run = Run(
            latency_ms=(ended - started) * 1000,
            ttft_ms=None,
            output_tokens=0,
            hit_max_new_tokens=False,
        )
        return ChoiceLikelihoods(tuple(sums), len(context_ids), run)

    def _encoded(self, text: str, conversation: bool) -> list[int]:
        """Token ids of text the model is given: a rendered conversation's template writes
        its own special tokens (as in `_prompt_ids`)."""
        return list(self._tokenizer(text, add_special_tokens=not conversation)["input_ids"])

    def _check_fits(self, tokens: int) -> None:
        context = self.context_length
        if context is not None and tokens > context:
            raise GenerationError(
                f"a prompt with its longest choice is {tokens} tokens, more than {self._name}'s "
                f"context of {context} tokens: shorten the prompt or the choices."
            )

    def _unpadded(self, tokens: list[int], config: GenerationConfig) -> list[int]:
        """A batch row's own tokens: up to its end-of-sequence token or stop string, as
        generate stops an unbatched request; what follows is padding."""
        eos = config.eos_token_id
        ends = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        floor = config.min_new_tokens or 0
        for index, token in enumerate(tokens):
            if token in ends and index >= floor:
                return tokens[: index + 1]
            if config.stop_strings:
                text = self._tokenizer.decode(tokens[: index + 1], skip_special_tokens=True)
                if any(stop in text for stop in config.stop_strings):
                    return tokens[: index + 1]
        return tokens


def split_continuation(context: str, choice: str, *, conversation: bool) -> tuple[str, str]:
    """The context and the continuation whose log-likelihood scores `choice`, as
    lm-evaluation-harness writes them: a text prompt and its choice are joined by one space
    (its `target_delimiter`) unless either side already has white space there, and white
    space that ends the prompt moves to the continuation (a BPE tokenizer writes a word's
    space with the word: " Paris"). A conversation, rendered by its chat template up to the
    assistant's turn, is continued by the choice as it is."""
    if conversation:
        return context, choice
    stripped = context.rstrip()
    space = context[len(stripped) :]
    if not space and not choice[:1].isspace():
        space = " "
    return stripped, space + choice


def continuation_loglikelihoods(
    logits: torch.Tensor, rows: Sequence[Sequence[int]], context: int
) -> torch.Tensor:
    """Each row's summed log-probability of its tokens after the first `context` (the
    continuation), from the logits of one forward pass over the rows (batch, positions,
    vocabulary): the token at position p is predicted by the logits at p - 1. Computed in
    float32 whatever the model's dtype."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    sums = []
    for index, row in enumerate(rows):
        targets = torch.tensor(row[context:], device=logits.device)
        positions = torch.arange(context - 1, len(row) - 1, device=logits.device)
        sums.append(log_probs[index, positions, targets].sum())
    return torch.stack(sums).cpu()


def weights_bytes(model: Any) -> int:
    """Bytes of a model's parameters and buffers, each tensor counted once (tied weights)."""
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values())


def kv_cache_bytes_per_token(model: Any) -> float | None:
    """Bytes the KV cache holds per token, from the config: keys and values of every layer's
    key/value heads, in the dtype the model computes in. None for a config that does not
    say (no layer or head counts)."""
    config = model.config.get_text_config()
    layers = getattr(config, "num_hidden_layers", None)
    heads = getattr(config, "num_attention_heads", None)
    if not layers or not heads:
        return None
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    element = torch.empty((), dtype=model.dtype).element_size()
    return float(2 * layers * kv_heads * head_dim * element)


def _source(spec: ModelSpec) -> str:
    return str(spec.local_path) if spec.local_path is not None else spec.name


def _tokenizer_source(record: AdapterRecord | None, weights_source: str) -> str:
    """An adapter saved with its tokenizer (added tokens, chat template) uses that one."""
    if record is not None and any(
        (record.path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")
    ):
        return str(record.path)
    return weights_source


def _load_failure(
    flag: str,
    spec: ModelSpec,
    record: AdapterRecord | None,
    weights: ModelSpec,
    error: BaseException,
) -> str:
    fix = _load_fix(error)
    if record is None:
        return f"{flag}={spec.name} could not be loaded: {error_line(error)}. " + (
            fix
            or "Check the hub id (and network access or the local cache) or the "
            "checkpoint directory."
        )
    return (
        f"{flag}={spec.name} is a {record.kind}; its base model {weights.name} could not be "
        f"loaded: {error_line(error)}. Name the base model with --llm-adapter-base=MODEL "
        "if it is elsewhere." + (f" {fix}" if fix else "")
    )


def _load_fix(error: BaseException) -> str | None:
    """What to do about a loading failure whose kind is known, None for the generic advice."""
    text = f"{type(error).__name__} {error}"
    if "SafetensorError" in text:
        return "The weights file is damaged or cut short: save or download the checkpoint again."
    if "Unpickl" in text or "weights_only" in text:
        return (
            "Its .bin weights hold pickled objects torch refuses to load safely: re-save the "
            "checkpoint with save_pretrained(DIR) (it writes model.safetensors)."
        )
    if "trust_remote_code" in text or "auto_map" in text:
        return (
            "The checkpoint ships its own model code (auto_map in config.json): if you trust "
            "it, add --llm-trust-remote-code (trust_remote_code = true in [tool.llmperf])."
        )
    if "tokenizer" in text.lower():
        return (
            "Its tokenizer files (tokenizer.json, or vocab.json and merges.txt, or "
            "tokenizer.model) are missing or broken: save them into the checkpoint with "
            "tokenizer.save_pretrained(DIR)."
        )
    return None


def _quantization_dict(config: Any) -> dict[str, Any] | None:
    if config is None:
        return None
    return dict(config) if isinstance(config, dict) else config.to_dict()


def _check_quantization_runs_here(
    config: Any, device: torch.device, flag: str, name: str
) -> dict[str, Any] | None:
    """A quantized checkpoint's quantization_config, once its method is known to run here.

    transformers' own check for the method (its package, a GPU) runs before any weight is
    read; what it refuses makes ModelUnavailableError, which skips the tests that need it.
    A method this transformers does not know is ignored, as transformers ignores it.
    """
    quantization = _quantization_dict(getattr(config, "quantization_config", None))
    if quantization is None:
        return None
    from transformers.quantizers import AutoHfQuantizer

    if not AutoHfQuantizer.supports_quant_method(quantization):
        return None
    try:
        quantizer = AutoHfQuantizer.from_config(quantization, pre_quantized=True)
        quantizer.validate_environment(device_map={"": device}, weights_only=True)
    except (ImportError, RuntimeError, ValueError, TypeError) as error:
        raise ModelUnavailableError(
            f"{flag}={name} is quantized ({describe_quantization(quantization)}), which cannot "
            f"run on {device} here: {error_line(error)}"
        ) from None
    return quantization


def _with_adapter(
    model: Any, record: AdapterRecord, weights: ModelSpec, spec: ModelSpec
) -> tuple[Any, dict[str, Any]]:
    """The model with the adapter applied, and what the backend records about it."""
    from pytest_llmperf.backends.peft_adapter import adapter_identity, apply_adapter

    merge = spec.adapter_mode == "merged"
    base_identity = {
        "name": weights.name,
        "revision": getattr(model.config, "_commit_hash", None),
        "config_sha256": _config_sha256(model.config),
    }
    model = apply_adapter(model, record, merge=merge, flag=spec.flag)
    return model, {
        "label": f"{record.kind} on {weights.name}, {spec.adapter_mode}",
        "identity": adapter_identity(record, merge=merge),
        "base_model": base_identity,
    }


def _config_sha256(config: Any) -> str:
    return hashlib.sha256(config.to_json_string().encode()).hexdigest()[:16]


def _short_sha256(value: Any) -> str:
    """16 hex digits of the SHA-256 of `value` as canonical JSON."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _tokenizer_sha256(tokenizer: Any) -> str:
    """The tokenizer's vocabulary, merges, normalizer and special tokens (a fast tokenizer's
    whole definition, without the padding and truncation a call sets), not its chat
    template: a snapshot knows that from the rendered prompts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        definition.pop("padding", None)
        definition.pop("truncation", None)
    else:
        definition = {"vocab": sorted(tokenizer.get_vocab().items())}
    definition["special_tokens"] = tokenizer.special_tokens_map
    return _short_sha256(definition)


def _prefers_safetensors(spec: ModelSpec) -> bool | None:
    """True when a local checkpoint has safetensors weights; None lets transformers choose."""
    path = spec.local_path
    if path is not None and any(path.glob("*.safetensors")):
        return True
    return None


def _decoding_settings(generation_config: GenerationConfig) -> dict[str, Any]:
    """What a checkpoint's generation_config.json says beyond token ids: ignored, recorded."""
    return {
        key: value
        for key, value in generation_config.to_diff_dict().items()
        if key not in _TOKEN_ID_KEYS and key not in _NOT_DECODING and not key.startswith("_")
    }
