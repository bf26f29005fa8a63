"""Checkpoint forms built once per session: a LoRA adapter (and its merged checkpoint) on the
tiny baseline, and float16 / bfloat16 copies of the baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.tiny import (
    build_dtype_copy,
    build_lora_adapter,
    merge_lora_adapter,
)

try:
    # Imported here, before any pytester run: in-process runs drop the modules they import,
    # and peft is better imported once per process, like torch.
    import peft
except ImportError:  # pragma: no cover - the test extra installs peft
    peft = None


@pytest.fixture(scope="session")
def lora(checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """adapter: a LoRA adapter trained on the long answers over the baseline (verbose);
    merged: the same adapter merged into the baseline and saved as a full checkpoint."""
    if peft is None:
        pytest.skip("needs peft: pip install peft")
    root = tmp_path_factory.mktemp("lora")
    adapter = build_lora_adapter(checkpoints["baseline"], root / "adapter")
    merged = merge_lora_adapter(adapter, checkpoints["baseline"], root / "merged")
    return {"adapter": adapter, "merged": merged}


@pytest.fixture(scope="session")
def half_precision(
    checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """float16 and bfloat16: the baseline's weights cast and saved in that dtype."""
    root = tmp_path_factory.mktemp("half")
    return {
        dtype: build_dtype_copy(checkpoints["baseline"], root / dtype, dtype)
        for dtype in ("float16", "bfloat16")
    }
