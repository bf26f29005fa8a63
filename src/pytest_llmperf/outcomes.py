"""A limit's outcome: the one decision every report renders.

The verdicts (judge/verdicts.py) decide it; a record keeps its value, a documented string
of the report schema ("pass", "FAIL", "not compared", "inconclusive"); a renderer reads it
back once (`outcome_of`) and compares members, never the strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any


class Outcome(Enum):
    PASS = "pass"
    FAIL = "FAIL"
    NOT_COMPARED = "not compared"
    INCONCLUSIVE = "inconclusive"  # the interval straddles the budget: no evidence either way


def outcome_of(verdict: Mapping[str, Any]) -> Outcome:
    """The outcome of a verdict record (judge/records.py) as the enum."""
    return Outcome(verdict["outcome"])
