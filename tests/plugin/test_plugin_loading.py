"""The plugin loads on every pytest run of a project that installs it: cheaply, and optionally."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.plugin.helpers import run


def test_importing_the_plugin_does_not_import_torch_transformers_or_scipy():
    code = (
        "import sys, pytest_llmperf.plugin; "
        "print(sorted(m for m in ('torch', 'transformers', 'scipy') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_no_llmperf_turns_the_plugin_off(pytester):
    pytester.makepyfile("def test_a(llm_candidate):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:llmperf")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'llm_candidate' not found*"])


def test_options_are_listed_in_help(pytester):
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(
        [
            "*LLM performance budgets (pytest-llmperf)*",
            "*--llm-baseline=VALUE*",
            "*--llm-mode=VALUE*",
        ]
    )
    assert result.ret == pytest.ExitCode.OK
