"""The hardware and software a measurement was taken on, and how two of them differ."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

# Keys whose difference makes timings incomparable; the rest are recorded for reading.
COMPARABLE_HARDWARE_KEYS = ("device_type", "device_name", "cpu_model", "cpu_count", "torch_threads")


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def hardware(device: str) -> dict[str, Any]:
    import torch

    device_type = device.split(":")[0]
    device_name = cpu_model()
    if device_type == "cuda":
        device_name = torch.cuda.get_device_name(torch.device(device))
    elif device_type == "mps":
        device_name = f"Apple MPS ({platform.machine()})"
    memory_bytes = (
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    )
    return {
        "device_type": device_type,
        "device_name": device_name,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(memory_bytes / 1024**3, 1),
    }


def software() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": sys.platform,
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "pytest_llmperf": _version("pytest-llmperf"),
    }


def environment(device: str) -> dict[str, Any]:
    return {"hardware": hardware(device), "software": software()}


def differences(
    recorded: dict[str, Any], current: dict[str, Any], keys: tuple[str, ...]
) -> list[str]:
    """'key: recorded -> current' for each key that differs."""
    return [
        f"{key}: {recorded.get(key)!r} -> {current.get(key)!r}"
        for key in keys
        if recorded.get(key) != current.get(key)
    ]
