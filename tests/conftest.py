"""Shared fixtures: tiny checkpoints built once per test session."""

from __future__ import annotations

import json
from pathlib import Path

import httpcore  # noqa: F401
import pytest
import torch

# Imported here, before any pytester run: in-process runs restore sys.modules afterwards,
# and torch cannot be imported a second time in one process. httpx imports httpcore at its
# first request: one made inside an in-process run left httpcore's exception classes to be
# imported anew later, unknown to httpx (tests/unit/test_endpoint.py saw a raw ReadTimeout).
import pytest_llmperf.backends.transformers_backend  # noqa: F401
from tests.models.tiny import build_all, copy_checkpoint

# The models the suite builds train on one thread. scripts/test.sh runs the suite as two
# pytest-xdist workers on two cores: with torch's default of a thread per core in each,
# their threads waited on each other and building the tiny checkpoints took 300 s instead of
# 8 s. (The plugin sets its own thread count for what it measures: --llm-threads.)
torch.set_num_threads(1)


# scripts/test.sh hands whole files to two pytest-xdist workers in collection order
# (--no-loadscope-reorder; xdist's own order puts files with the most tests first, and left
# the example project, one long test, to start last while the other worker sat idle). The
# slowest files go first, longest first, so that the short ones fill in around them.
SLOWEST_FILES_FIRST = (
    "tests/test_example_project.py",
    "tests/plugin/test_endpoints.py",
    "tests/plugin/test_verdicts.py",
    "tests/plugin/test_served_load.py",
    "tests/plugin/test_housekeeping.py",
    "tests/plugin/test_xdist.py",
    "tests/plugin/test_bad_input.py",
    "tests/plugin/test_candidates.py",
    "tests/plugin/test_plots_and_benchmark.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return (
            SLOWEST_FILES_FIRST.index(path)
            if path in SLOWEST_FILES_FIRST
            else len(SLOWEST_FILES_FIRST)
        )

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """baseline, copy, verbose, slow and sampling (a copy whose generation_config samples)."""
    root = tmp_path_factory.mktemp("checkpoints")
    paths = build_all(root)
    sampling = copy_checkpoint(paths["baseline"], root / "sampling")
    config_path = sampling / "generation_config.json"
    config = json.loads(config_path.read_text())
    config.update(do_sample=True, temperature=5.0, top_k=0, repetition_penalty=3.0)
    config_path.write_text(json.dumps(config))
    paths["sampling"] = sampling
    return paths


@pytest.fixture(scope="session")
def chat_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """chat: a tiny chat model (role tokens, a chat template, <|end|> among its EOS ids);
    other_template: its weights with another template; no_template: with none at all."""
    from tests.models.chat import OTHER_TEMPLATE, build_chat, with_template

    root = tmp_path_factory.mktemp("chat")
    chat = build_chat(root / "chat")
    return {
        "chat": chat,
        "other_template": with_template(chat, root / "other_template", OTHER_TEMPLATE),
        "no_template": with_template(chat, root / "no_template", None),
    }
