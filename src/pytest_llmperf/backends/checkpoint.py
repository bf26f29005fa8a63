"""Checks on a local checkpoint directory, cheap enough to run before anything is loaded.

Nothing here imports torch, transformers or peft: the plugin calls these at configure time.
A directory is one of two forms: a full checkpoint (config.json, weights, tokenizer, perhaps
a quantization_config in its config.json), or a PEFT adapter (adapter_config.json and
adapter weights) that names the base model it was trained on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmperf.errors import ModelLoadError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
PEFT_INSTALL = "pip install peft (or pip install 'pytest-llmperf[peft]')"
# How peft's adapter kinds are usually written; the rest are shown as peft spells them.
_PEFT_NAMES = {"LORA": "LoRA", "ADALORA": "AdaLoRA", "LOHA": "LoHa", "LOKR": "LoKr", "IA3": "IA3"}


@dataclass(frozen=True)
class AdapterRecord:
    """What a PEFT adapter directory says about itself (read from adapter_config.json)."""

    path: Path
    peft_type: str
    base_model: str | None  # base_model_name_or_path as recorded when it was saved
    config_sha256: str

    @property
    def kind(self) -> str:
        """'LoRA adapter', 'IA3 adapter', ..."""
        return f"{_PEFT_NAMES.get(self.peft_type, self.peft_type)} adapter"


def is_adapter_dir(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file()


def peft_installed() -> bool:
    try:
        return importlib.util.find_spec("peft") is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def peft_missing_message(flag: str, path: Path) -> str:
    return (
        f"{flag}={path} is a PEFT adapter, and loading it needs the peft package, which is not "
        f"installed: {PEFT_INSTALL}."
    )


def read_adapter(path: Path, flag: str) -> AdapterRecord:
    """The adapter's own record; ModelLoadError when adapter_config.json cannot be used."""
    config_path = path / ADAPTER_CONFIG
    try:
        raw = config_path.read_bytes()
        data = json.loads(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(
            f"{flag}={path}: {ADAPTER_CONFIG} is not valid JSON ({error}). Save the adapter "
            "again with PeftModel.save_pretrained."
        ) from None
    peft_type = data.get("peft_type") if isinstance(data, dict) else None
    if not isinstance(peft_type, str) or not peft_type:
        raise ModelLoadError(
            f"{flag}={path}: {ADAPTER_CONFIG} has no peft_type, so it is not a PEFT adapter's "
            "config. Save the adapter again with PeftModel.save_pretrained."
        )
    base = data.get("base_model_name_or_path")
    return AdapterRecord(
        path=path,
        peft_type=peft_type,
        base_model=base.strip() if isinstance(base, str) and base.strip() else None,
        config_sha256=hashlib.sha256(raw).hexdigest()[:16],
    )


def check_checkpoint_dir(path: Path, flag: str) -> None:
    """Raise ModelLoadError unless `path` is a save_pretrained directory or a PEFT adapter."""
    if not path.exists():
        raise ModelLoadError(
            f"{flag}={path}: no such directory. Give a Hugging Face hub id or a checkpoint "
            "directory written by save_pretrained."
        )
    if not path.is_dir():
        raise ModelLoadError(f"{flag}={path} is a file; a checkpoint is a directory.")
    if is_adapter_dir(path):
        _check_adapter_dir(path, flag)
        return
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{flag}={path} is not a model checkpoint: it has no config.json. Point it at a "
            "directory written by save_pretrained (config.json, weights and tokenizer), or at a "
            f"PEFT adapter ({ADAPTER_CONFIG} and its weights)."
        )


def _check_adapter_dir(path: Path, flag: str) -> None:
    read_adapter(path, flag)
    if not any((path / name).is_file() for name in ADAPTER_WEIGHTS):
        raise ModelLoadError(
            f"{flag}={path} has {ADAPTER_CONFIG} but no adapter weights "
            f"({' or '.join(ADAPTER_WEIGHTS)}). Save the adapter with PeftModel.save_pretrained."
        )
    if not peft_installed():
        raise ModelLoadError(peft_missing_message(flag, path))


def error_line(error: BaseException) -> str:
    """An error's first line, for a message; with the next line when the first only
    announces a list (torch's "Error(s) in loading state_dict for X:", then the mismatches)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return repr(error)
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def describe_quantization(config: Mapping[str, Any] | None) -> str | None:
    """'bitsandbytes 4-bit', 'gptq 4-bit', ... from a quantization_config; None if none."""
    if not config:
        return None
    method = str(config.get("quant_method", "unknown"))
    if config.get("load_in_4bit"):
        bits = 4
    elif config.get("load_in_8bit"):
        bits = 8
    else:
        bits = config.get("bits")
    described = f"{method} {bits}-bit" if isinstance(bits, int) else method
    return f"{described}, dequantized" if config.get("dequantize") else described


def form_label(
    name: str,
    dtype: str,
    *,
    adapter: str | None = None,
    quantization: str | None = None,
) -> str:
    """The model as a verdict names it: the name alone for a plain float32 checkpoint, else
    e.g. './adapter (LoRA adapter on ./base, unmerged, float32)' or './q (gptq 4-bit, float16)'.

    `adapter` describes the adapter and how it runs ('LoRA adapter on ./base, unmerged').
    """
    parts = [part for part in (adapter, quantization and f"{quantization} quantized") if part]
    if parts or dtype != "float32":
        parts.append(dtype)
    return f"{name} ({', '.join(parts)})" if parts else name
