"""The warnings a judged test raises, decided from its record's typed outcomes."""

from __future__ import annotations

import ast

import pytest

from pytest_llmperf.judge.reading import Alert, AlertKind, alerts
from pytest_llmperf.outcomes import Outcome, outcome_of
from tests.unit.test_architecture import MODULES

OTHER_HARDWARE = "the snapshot was measured on other hardware (cpu vs cuda)"


def verdict(limit: str, metric: str, outcome: str, note: str = "", **extra) -> dict:
    return {
        "limit": limit,
        "metric": metric,
        "outcome": outcome,
        "note": note,
        "observed": None,
        "interval": None,
        **extra,
    }


def test_hardware_and_inconclusive_verdicts_raise_their_kinds_with_exact_texts():
    record = {
        "verdicts": [
            verdict("latency_ratio", "latency", "not compared", OTHER_HARDWARE),
            verdict("ttft_ratio", "ttft", "not compared", OTHER_HARDWARE),
            verdict("tokens_ratio", "output_tokens", "not compared", "fixed_length mode"),
            verdict(
                "latency_ms",
                "latency",
                "inconclusive",
                "what would settle it: more runs",
                observed=312.0,
                interval={"low": 290.0, "high": 330.0},
            ),
            verdict("memory_mb", "memory", "pass"),
        ]
    }
    assert alerts(record) == [
        # once per note, and only for hardware-bound figures (tokens are not)
        Alert(AlertKind.HARDWARE, OTHER_HARDWARE),
        Alert(
            AlertKind.INCONCLUSIVE,
            "latency_ms inconclusive 312 ms [290, 330]: what would settle it: more runs",
        ),
    ]


def test_a_passing_record_raises_nothing():
    assert alerts({"verdicts": [verdict("latency_ratio", "latency", "pass")]}) == []


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_records_outcome_reads_back_as_the_enum(outcome):
    assert outcome_of({"outcome": outcome.value}) is outcome


def test_an_unknown_outcome_is_an_error_not_a_silent_miss():
    with pytest.raises(ValueError):
        outcome_of({"outcome": "passed"})


OUTCOME_STRINGS = {outcome.value for outcome in Outcome} - {"pass"}  # "pass" is also a rule


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith("report") or m == "plugin")
)
def test_renderers_and_wiring_compare_outcome_members_not_strings(module):
    tree = ast.parse(MODULES[module].read_text())
    literals = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in OUTCOME_STRINGS
    ]
    assert literals == [], f"{module} spells outcomes as strings: {literals}"
