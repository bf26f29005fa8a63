"""Output options (--llm-plots, --llm-benchmark-json) checked when they are parsed, so that
a missing library or a path that cannot be written is a usage error before any model runs."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.files import check_writable_directory, check_writable_file

PLOTS_FIX = "pip install 'pytest-llmperf[plots]'"


def resolve_output(key: str, raw: str, base: Path, where: str) -> dict[str, Any]:
    """Settings fields of `plots` or `benchmark_json`, checked: ConfigError naming `where`
    (the flag, or the [tool.llmperf] key) when the output could not be written.

    `benchmark_json` is a pytest-benchmark storage directory when it ends with '/' or is
    an existing directory, else the JSON file itself."""
    path = base / Path(raw).expanduser()
    if key == "plots":
        if importlib.util.find_spec("matplotlib") is None:
            raise ConfigError(f"{where} needs matplotlib, which is not installed: {PLOTS_FIX}.")
        check_writable_directory(path, where)
        return {"plots": path}
    storage = raw.endswith(("/", os.sep)) or path.is_dir()
    if storage:
        check_writable_directory(path, where)
    else:
        check_writable_file(path, where)
    return {"benchmark_json": path, "benchmark_storage": storage}
