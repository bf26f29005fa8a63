"""Numbers read from outside (a snapshot file, a server's answer) checked where they are read.

Each check returns the value as its type or raises ValueError naming the field and what it
must be; the caller adds the file or the server. JSON lets through what Python's json reads
(`Infinity`, `NaN`, `1e999`, `"false"`, `-5`, an integer of 400 digits): none of them may
reach a verdict, and none may raise anything but ValueError (`math.isfinite(10**400)`
raises OverflowError: `finite` is the one test of a number used here and for limits).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from pytest_llmperf.text import shown_value


def finite(value: Any) -> float | None:
    """`value` as a float when it is a real number (not a bool) within float range and
    finite; None for anything else: NaN, infinities, integers beyond float range, text."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return number if math.isfinite(number) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_time(value: Any, field: str) -> float:
    """A duration: a finite number above 0."""
    if not _is_number(value) or finite(value) is None or value <= 0:
        raise ValueError(f"{field} must be a finite number above 0, not {shown_value(value)}")
    return float(value)


def optional_positive_time(value: Any, field: str) -> float | None:
    return None if value is None else positive_time(value, field)


def optional_size(value: Any, field: str) -> float | None:
    """A memory size: null, or a finite number of at least 0."""
    if value is None:
        return None
    if not _is_number(value) or finite(value) is None or value < 0:
        raise ValueError(
            f"{field} must be null or a finite number of at least 0, not {shown_value(value)}"
        )
    return float(value)


def whole_count(value: Any, field: str, at_most: int | None = None) -> int:
    """A count of tokens or items: a whole number of at least 0 (and at most `at_most`)."""
    number = finite(value) if _is_number(value) else None
    if number is None or not number.is_integer() or value < 0:
        raise ValueError(f"{field} must be a whole number of at least 0, not {shown_value(value)}")
    if at_most is not None and value > at_most:
        raise ValueError(f"{field} is {int(value)}, more than the {at_most} asked for")
    return int(value)


def optional_count(value: Any, field: str) -> int | None:
    return None if value is None else whole_count(value, field)


def real_bool(value: Any, field: str) -> bool:
    """true or false, not a string or a number that reads as one."""
    if not isinstance(value, bool):
        raise ValueError(f"{field} must be true or false, not {shown_value(value)}")
    return value


def optional_score(value: Any, field: str) -> float | None:
    """A scorer's score: null, or a number from 0 to 1."""
    if value is None:
        return None
    if not _is_number(value) or finite(value) is None or not 0 <= value <= 1:
        raise ValueError(f"{field} must be a number from 0 to 1 or null, not {shown_value(value)}")
    return float(value)
