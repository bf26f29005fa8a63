"""Backends load a model and run one timed generate call; `load_backend` picks one."""

from __future__ import annotations

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.settings.settings import ModelSpec, Settings


def load_backend(spec: ModelSpec, settings: Settings, *, flag: str) -> Backend:
    """Load the model named by `spec`; `flag` names the option it came from, for messages.

    `flag` is '--llm-baseline' or '--llm-candidate': it also picks that model's dtype setting.
    """
    role = flag.removeprefix("--llm-")
    endpoint = spec.endpoint
    if endpoint is not None:
        from pytest_llmperf.backends.endpoint import EndpointBackend

        return EndpointBackend.connect(
            endpoint,
            flag=flag,
            timeout_s=settings.request_timeout_s,
            key_env=settings.api_key_env_for(role),
            tokenizer_name=settings.tokenizer_for(role),
        )
    from pytest_llmperf.backends.transformers_backend import TransformersBackend

    dtype = settings.dtype_for(role)
    return TransformersBackend.load(spec, settings, flag=flag, dtype=dtype)


__all__ = ["Backend", "Completion", "load_backend"]
