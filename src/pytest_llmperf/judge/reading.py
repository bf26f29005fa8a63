"""Verdict records read back (the plain data judge/records.py builds): what was held
against a budget, in words, and the warnings a judged test raises.

The warnings are decided here, from the record's typed outcomes; the wiring (plugin.py)
only raises each with the warning class its kind maps to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pytest_llmperf.limits import LIMIT_SPECS
from pytest_llmperf.metrics import METRICS_BY_NAME
from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.redaction import redact


def observed_text(verdict: Mapping[str, Any]) -> str:
    """What was held against the budget, from a verdict record: ' 5.61x [4.90, 6.30]'."""
    interval = verdict["interval"]
    bounds = None if interval is None else (interval["low"], interval["high"])
    text = LIMIT_SPECS[verdict["limit"]].observed_text(verdict["observed"], bounds)
    return f" {text}" if text else ""


class AlertKind(Enum):
    HARDWARE = "hardware"  # a timing limit not compared: its baseline ran on other hardware
    INCONCLUSIVE = "inconclusive"  # a limit with no evidence either way at the cap


@dataclass(frozen=True)
class Alert:
    """A warning a judged test raises: what kind, and its text (masked)."""

    kind: AlertKind
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", redact(self.text))


def alerts(record: Mapping[str, Any]) -> list[Alert]:
    """A judged test's warnings: each distinct note of a hardware-bound limit that was not
    compared (once, sorted), then each inconclusive limit with what was observed."""
    verdicts = record["verdicts"]
    notes = {
        verdict["note"]
        for verdict in verdicts
        if outcome_of(verdict) is Outcome.NOT_COMPARED
        and METRICS_BY_NAME[verdict["metric"]].hardware_bound
    }
    found = [Alert(AlertKind.HARDWARE, note) for note in sorted(notes)]
    found += [
        Alert(
            AlertKind.INCONCLUSIVE,
            f"{verdict['limit']} inconclusive{observed_text(verdict)}: {verdict['note']}",
        )
        for verdict in verdicts
        if outcome_of(verdict) is Outcome.INCONCLUSIVE
    ]
    return found
