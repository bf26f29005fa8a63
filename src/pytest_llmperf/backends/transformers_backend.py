"""Hugging Face transformers: AutoTokenizer + AutoModelForCausalLM, one prompt per request."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from transformers.generation.streamers import BaseStreamer

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.backends.checkpoint import check_checkpoint_dir
from pytest_llmperf.config import ModelSpec, Settings
from pytest_llmperf.errors import GenerationError, ModelLoadError
from pytest_llmperf.memory import CudaPeakMemory, PeakMemoryTracker, ProcessPeakMemory
from pytest_llmperf.results import Run

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


class TransformersBackend(Backend):
    def __init__(self, name: str, model: Any, tokenizer: Any, device: torch.device) -> None:
        self._name = name
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self._synchronize = _synchronizer(device)
        self._token_ids = {
            key: value
            for key in _TOKEN_ID_KEYS
            if (value := getattr(model.generation_config, key, None)) is not None
        }
        self._token_ids.setdefault("pad_token_id", tokenizer.pad_token_id)
        self._ignored_generation_config = _decoding_settings(model.generation_config)
        # generate fills every setting left unset from model.generation_config: keep only ids.
        model.generation_config = GenerationConfig(**self._token_ids)

    @classmethod
    def load(cls, spec: ModelSpec, settings: Settings, *, flag: str) -> TransformersBackend:
        source = str(spec.local_path) if spec.local_path is not None else spec.name
        if spec.local_path is not None:
            check_checkpoint_dir(spec.local_path, flag)
        device = resolve_device(settings.device)
        dtype = "auto" if settings.dtype == "auto" else _DTYPES[settings.dtype]
        trust = settings.trust_remote_code
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust)
            model = AutoModelForCausalLM.from_pretrained(
                source,
                dtype=dtype,
                use_safetensors=_prefers_safetensors(spec),
                trust_remote_code=trust,
            )
        except (OSError, ValueError, KeyError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise ModelLoadError(
                f"{flag}={spec.name} could not be loaded: {first_line}. Check the hub id (and "
                "network access or the local cache) or the checkpoint directory."
            ) from None
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        model.to(device).eval()
        return cls(spec.name, model, tokenizer, device)

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def identity(self) -> dict[str, Any]:
        config = self._model.config
        return {
            "name": self._name,
            "model_type": config.model_type,
            "parameters": sum(p.numel() for p in self._model.parameters()),
            "dtype": str(self._model.dtype).removeprefix("torch."),
            "config_sha256": hashlib.sha256(config.to_json_string().encode()).hexdigest()[:16],
            "revision": getattr(config, "_commit_hash", None),
            "ignored_generation_config": self._ignored_generation_config,
        }

    @property
    def weights_mb(self) -> float:
        tensors = [*self._model.parameters(), *self._model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors) / (1024 * 1024)

    @property
    def context_length(self) -> int | None:
        return getattr(self._model.config, "max_position_embeddings", None)

    def input_token_counts(self, prompts: Sequence[str], max_new_tokens: int) -> list[int]:
        counts = [len(self._tokenizer(prompt)["input_ids"]) for prompt in prompts]
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
        return GenerationConfig(**{**self._token_ids, **generation})

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        config = self._generation_config(generation)
        encoded = self._tokenizer(prompt, return_tensors="pt").to(self._device)
        input_tokens = int(encoded["input_ids"].shape[1])
        clock = _FirstTokenClock(self._synchronize) if config.num_beams == 1 else None
        torch.manual_seed(seed)
        try:
            with torch.inference_mode():
                self._synchronize()
                started = time.perf_counter()
                output = self._model.generate(**encoded, generation_config=config, streamer=clock)
                self._synchronize()
                ended = time.perf_counter()
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise GenerationError(
                f"CUDA ran out of memory generating with {self._name} on {self.device}: lower "
                "the batch size or max_new_tokens, or use --llm-dtype=bfloat16."
            ) from None
        new_tokens = output[0, input_tokens:]
        ttft = None if clock is None or clock.first_token_at is None else clock.first_token_at
        run = Run(
            latency_ms=(ended - started) * 1000,
            ttft_ms=None if ttft is None else (ttft - started) * 1000,
            output_tokens=int(new_tokens.shape[0]),
            hit_max_new_tokens=config.max_new_tokens is not None
            and int(new_tokens.shape[0]) >= config.max_new_tokens,
        )
        text = self._tokenizer.decode(new_tokens, skip_special_tokens=True)
        return Completion(text=text, input_tokens=input_tokens, run=run)


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
