"""Backends load a model and run one timed generate call; `load_backend` picks one."""

from __future__ import annotations

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.config import ModelSpec, Settings


def load_backend(spec: ModelSpec, settings: Settings, *, flag: str) -> Backend:
    """Load the model named by `spec`; `flag` names the option it came from, for messages.

    `flag` is '--llm-baseline' or '--llm-candidate': it also picks that model's dtype setting.
    """
    from pytest_llmperf.backends.transformers_backend import TransformersBackend

    dtype = settings.dtype_for(flag.removeprefix("--llm-"))
    return TransformersBackend.load(spec, settings, flag=flag, dtype=dtype)


__all__ = ["Backend", "Completion", "load_backend"]
