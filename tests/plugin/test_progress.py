"""With -v, a line per extra round of runs while a verdict is inconclusive; pytest's own
PASSED/FAILED line for the test still reads whole."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from pytest_llmperf.backends.base import Backend, Completion
from pytest_llmperf.backends.memory import PeakMemoryTracker
from pytest_llmperf.results import Run
from tests.plugin.helpers import run


class NoMemory(PeakMemoryTracker):
    def start(self) -> None:
        pass

    def peak_increase_mb(self) -> float:
        return 0.0


class EqualSpeed(Backend):
    """Every run a noisy 10 ms (seeded), whichever model: latency_ratio=1.0 stays open."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.noise = random.Random(name)

    identity = property(lambda self: {"name": self.name})
    device = property(lambda self: "cpu")
    weights_mb = property(lambda self: 1.0)

    def input_token_counts(self, prompts: Sequence[str], max_new_tokens: int) -> list[int]:
        return [3 for _ in prompts]

    def complete(self, prompt: str, generation: Mapping[str, Any], seed: int) -> Completion:
        latency = 10.0 * self.noise.lognormvariate(0.0, 0.1)
        return Completion("answer", 3, Run(latency, latency / 4, 5, False))

    def memory_tracker(self) -> PeakMemoryTracker:
        return NoMemory()


TESTS = """
import pytest

@pytest.mark.assert_within_budget(latency_ratio=1.0)
def test_open(llm_candidate):
    llm_candidate.generate(["one", "two", "three"])

def test_after():
    pass
"""
SETTINGS = (
    "[tool.llmperf]\nrepeats = 2\nwarmup = 0\nnoise_floor = 0.0\nmax_pairs = 48\n"
    'inconclusive = "pass"\n'
)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Models that load as EqualSpeed fakes: the in-process run shares this session module."""
    monkeypatch.setattr(
        "pytest_llmperf.session.pool.load_backend", lambda spec, settings: EqualSpeed(spec.name)
    )
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_progress_demo=TESTS)
    return pytester


MODELS = ("--llm-baseline=fake-base", "--llm-candidate=fake-cand")


def test_verbose_shows_a_line_per_round_and_keeps_the_passed_line(project):
    result = run(project, "-v", *MODELS)
    result.assert_outcomes(passed=2)
    node = "test_progress_demo.py::test_open"
    result.stdout.fnmatch_lines(
        [
            f"{node} ",
            f"    llmperf: {node}: 6 pairs, latency_ratio *x [[]*, *] inconclusive, "
            "measuring 3 more",
            f"    llmperf: {node}: 9 pairs, latency_ratio *x [[]*, *] inconclusive, "
            "measuring 3 more",
            f"    llmperf: {node}: 45 pairs, latency_ratio *x [[]*, *] inconclusive, "
            "measuring 3 more",
            f"{node} PASSED *",
            "test_progress_demo.py::test_after PASSED *",
        ]
    )
    # A look at 6, 9, ..., 33, 39 and 45 pairs, a tenth more each (a pass at least), up to 48.
    assert result.stdout.str().count("llmperf: test_progress_demo") == 12


def test_no_progress_lines_without_verbose(project):
    result = run(project, *MODELS)
    result.assert_outcomes(passed=2)
    assert "measuring" not in result.stdout.str()
    result.stdout.fnmatch_lines(["test_progress_demo.py .. *"])
