"""What the plugin's hooks take from pytest and its plugins for the layers below, which
never see a pytest object: a writer of progress lines on pytest's terminal, and
pytest-benchmark's machine and commit info."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest

from pytest_llmperf.xdist_support import is_worker


def live_printer(config: pytest.Config) -> Callable[[str], None] | None:
    """A writer of progress lines (session/until_decided.py builds them), or None: without
    -v, and on xdist workers (whose terminal nobody sees). Lines go out the way pytest's live
    logging writes, between the test's name and its PASSED/FAILED word, breaking neither."""
    if config.option.verbose <= 0 or is_worker(config):
        return None

    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        # As pytest's live logging: lift capturing, start on a fresh line; pytest writes the
        # test's name again before its PASSED/FAILED word.
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            reporter.ensure_newline()
            reporter.write_line(f"    {line}")

    return write


def benchmark_provenance(config: pytest.Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """machine_info and commit_info as pytest-benchmark makes them, through its hooks when
    it is loaded (so a conftest's pytest_benchmark_update_machine_info applies)."""
    if config.pluginmanager.hasplugin("benchmark"):
        hook = config.hook
        machine_info = hook.pytest_benchmark_generate_machine_info(config=config)
        hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine_info)
        commit_info = hook.pytest_benchmark_generate_commit_info(config=config)
        hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
        return machine_info, commit_info
    from pytest_benchmark.plugin import pytest_benchmark_generate_machine_info
    from pytest_benchmark.utils import get_commit_info

    return pytest_benchmark_generate_machine_info(), get_commit_info()
