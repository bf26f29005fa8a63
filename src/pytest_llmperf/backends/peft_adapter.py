"""PEFT adapters: the base model an adapter names, and the adapter applied on it.

peft is optional: it is imported only when an adapter is loaded, and its absence is an
error that says how to install it.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

from pytest_llmperf.backends.checkpoint import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    AdapterRecord,
    check_checkpoint_dir,
    error_line,
    is_adapter_dir,
    peft_missing_message,
)
from pytest_llmperf.errors import ModelLoadError
from pytest_llmperf.settings.settings import ModelSpec

BASE_FLAG = "--llm-adapter-base"


def base_model_spec(record: AdapterRecord, adapter: ModelSpec) -> ModelSpec:
    """The base model to load the adapter on: --llm-adapter-base, else the adapter's record."""
    flag = adapter.flag
    if adapter.adapter_base is not None:
        spec, where = adapter.adapter_base, BASE_FLAG
    elif record.base_model is not None:
        spec, where = ModelSpec(record.base_model, Path.cwd()), f"as its {ADAPTER_CONFIG} records"
    else:
        raise ModelLoadError(
            f"{flag}={record.path} is a {record.kind}, and its {ADAPTER_CONFIG} does not record "
            f"the base model it was trained on: name it with {BASE_FLAG}=MODEL (or adapter_base "
            "in [tool.llmperf])."
        )
    path = spec.local_path
    if path is None:
        return spec
    if not path.exists():
        raise ModelLoadError(
            f"{flag}={record.path} is a {record.kind} on {spec.name} ({where}), but there is no "
            f"such directory here. Name the base model with {BASE_FLAG}=MODEL (a hub id or "
            "checkpoint directory)."
        )
    if is_adapter_dir(path):
        raise ModelLoadError(
            f"{flag}={record.path}: its base model {path} is itself a PEFT adapter; adapters on "
            "adapters are not supported. Merge the base adapter (merge_and_unload) and "
            "save_pretrained the result, then name that directory with "
            f"{BASE_FLAG}=DIR."
        )
    try:
        check_checkpoint_dir(path, "base model")
    except ModelLoadError as error:
        raise ModelLoadError(
            f"{flag}={record.path} is a {record.kind} on {spec.name} ({where}), which cannot be "
            f"used: {error}"
        ) from None
    return spec


def apply_adapter(model: Any, record: AdapterRecord, *, merge: bool, flag: str) -> Any:
    """The base model with the adapter applied: a PeftModel, or merged into a plain model."""
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelLoadError(peft_missing_message(flag, record.path)) from None
    try:
        with warnings.catch_warnings():
            # peft asks transformers for properties it has deprecated: their noise, not the
            # user's, and an error under filterwarnings = ["error"].
            warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="transformers")
            wrapped = PeftModel.from_pretrained(model, str(record.path))
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ModelLoadError(
            f"{flag}={record.path}: the {record.kind} could not be applied to its base model "
            f"({error_line(error).rstrip('.')}). Check that it was trained on that base; "
            f"{BASE_FLAG}=MODEL names another."
        ) from None
    if not merge:
        return wrapped
    if wrapped.active_peft_config.is_prompt_learning:
        raise ModelLoadError(
            f"{flag}={record.path} is a {record.kind}, a prompt-learning adapter, which has no "
            "weights to merge: judge it with --llm-adapter-mode=unmerged."
        )
    return wrapped.merge_and_unload()


def adapter_identity(record: AdapterRecord, *, merge: bool) -> dict[str, Any]:
    """What identifies the adapter itself in a snapshot: its kind, config and weights."""
    weights = next((record.path / n for n in ADAPTER_WEIGHTS if (record.path / n).is_file()), None)
    return {
        "peft_type": record.peft_type,
        "mode": "merged" if merge else "unmerged",
        "config_sha256": record.config_sha256,
        "weights_sha256": None if weights is None else _file_sha256(weights),
    }


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
