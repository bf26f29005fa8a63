"""Checks on a local checkpoint directory, cheap enough to run before anything is loaded."""

from __future__ import annotations

from pathlib import Path

from pytest_llmperf.errors import ModelLoadError


def check_checkpoint_dir(path: Path, flag: str) -> None:
    """Raise ModelLoadError unless `path` looks like a save_pretrained directory."""
    if not path.exists():
        raise ModelLoadError(
            f"{flag}={path}: no such directory. Give a Hugging Face hub id or a checkpoint "
            "directory written by save_pretrained."
        )
    if not path.is_dir():
        raise ModelLoadError(f"{flag}={path} is a file; a checkpoint is a directory.")
    if (path / "adapter_config.json").is_file() and not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{flag}={path} holds a PEFT adapter, not a full checkpoint; adapters are not "
            "supported yet: merge it (model.merge_and_unload()) and save_pretrained the result."
        )
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{flag}={path} is not a model checkpoint: it has no config.json. Point it at a "
            "directory written by save_pretrained (config.json, weights and tokenizer)."
        )
