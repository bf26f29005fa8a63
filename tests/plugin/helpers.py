"""Running the plugin the way a user does, and reading its verdicts back."""

from __future__ import annotations

import re

import pytest

from tests.models.tiny import QUESTIONS, prompt_for

PROMPTS = [prompt_for(question) for question in QUESTIONS]
PRICES = "[tool.llmperf]\nprice_input_per_1m = 0.5\nprice_output_per_1m = 1.5\nrepeats = 3\n"

# One test file a user might write: every limit kind on one workload.
BUDGET_TEST = f"""
import pytest

PROMPTS = {PROMPTS!r}

@pytest.mark.assert_within_budget(
    latency_ratio=1.5, tokens_ratio=1.0, cost_ratio=1.0, latency_ms=10000, memory_mb=4000
)
def test_answers(llm_candidate):
    result = llm_candidate.generate(PROMPTS, max_new_tokens=48)
    assert len(result.samples) == len(PROMPTS)

def test_not_about_models():
    assert 1 + 1 == 2
"""


# This suite turns warnings into errors, and in-process runs inherit it. A timing verdict
# left inconclusive warns (it is not a failure): on a loaded machine any timing limit may,
# so the runs below keep that warning a warning unless a test asks otherwise.
INCONCLUSIVE_STAYS_A_WARNING = ("-W", "default::pytest_llmperf.plugin.LlmPerfInconclusiveWarning")


# Seconds of extra runs per test (the default is 60). The tiny models decide what the tests
# assert within the first rounds. A p95 SLA far from its budget needs a few hundred runs to
# pass at the session's confidence, and stays inconclusive within this: a test that asserts
# its pass, or tests the caps, passes its own --llm-max-seconds (later arguments win).
EXTRA_SECONDS = ("--llm-max-seconds=2",)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A user's pytest run in the test's project, in process; `args` come last and win."""
    return pytester.runpytest(
        "-p", "no:cacheprovider", *INCONCLUSIVE_STAYS_A_WARNING, *EXTRA_SECONDS, *args
    )


def run_xdist(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The same run under pytest-xdist, two workers, in a subprocess."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", *EXTRA_SECONDS, *args)


_ROW = re.compile(
    r"^\s+(\S+::\S+)\s+(?:natural|fixed_length)\s+(\w+)\s.*\s(pass|FAIL|not compared|inconclusive)\b"
)


# A far-off p95 SLA passes once a few hundred runs bound it, and how many runs fit in the
# cap depends on the machine's load: two runs of one project may differ on it (pass in one,
# inconclusive in the other) and still agree on everything else.
SLA_LIMITS = ("latency_ms", "ttft_ms")


def agreed_verdicts(verdicts: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """What two runs of one project must agree on: every verdict but the SLAs', which may
    only pass or stay open (the projects' SLAs are far above the tiny models' latency)."""
    slas = {key: verdict for key, verdict in verdicts.items() if key[1] in SLA_LIMITS}
    assert set(slas.values()) <= {"pass", "inconclusive"}, slas
    return {key: verdict for key, verdict in verdicts.items() if key not in slas}


def summary_verdicts(result: pytest.RunResult) -> dict[tuple[str, str], str]:
    """(test, limit) -> verdict, read from the session summary table."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "= llmperf =" in line)
    verdicts = {}
    for line in lines[start:]:
        match = _ROW.match(line)
        if match:
            verdicts[(match.group(1), match.group(2))] = match.group(3)
    return verdicts


# A test whose one call goes to whatever --llm-candidate names: faults and hostile servers.
FAULT_TEST = """
import pytest

@pytest.mark.assert_within_budget(output_tokens=100)
def test_answers(llm_candidate):
    llm_candidate.generate(["Q: why? A:"], max_new_tokens=8)
"""
