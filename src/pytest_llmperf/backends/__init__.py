"""Backends load a model and run one timed generate call; `load_backend` picks one."""

from __future__ import annotations

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.backends.quiet import library_progress_bars_off
from pytest_llmperf.settings.settings import ModelSpec, Settings


def load_backend(spec: ModelSpec, settings: Settings) -> Backend:
    """Load the model named by `spec`, with its own settings (dtype, key, tokenizer)."""
    endpoint = spec.endpoint
    if endpoint is not None:
        from pytest_llmperf.backends.endpoint import EndpointBackend

        return EndpointBackend.connect(
            endpoint,
            flag=spec.flag,
            timeout_s=settings.request_timeout_s,
            key_env=spec.options.api_key_env,
            tokenizer_name=spec.options.tokenizer,
        )
    from pytest_llmperf.backends.transformers_backend import TransformersBackend

    # transformers' "Loading weights" bar would land in the captured output of the test
    # that happened to load the model.
    with library_progress_bars_off():
        return TransformersBackend.load(spec, settings)


__all__ = ["Backend", "Completion", "load_backend"]
