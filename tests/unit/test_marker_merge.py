"""Several assert_within_budget markers on one test: every limit kept, at its strictest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmperf.errors import BudgetError
from pytest_llmperf.limits import LIMIT_SPECS, merged_markers, parse_budget


def test_the_strictest_value_of_each_limit_wins() -> None:
    _, kwargs = merged_markers(
        [
            ((), {"tokens_ratio": 1.1, "min_accuracy": 0.5}),
            ((), {"tokens_ratio": 2.0, "min_accuracy": 0.8}),
        ]
    )
    assert kwargs == {"tokens_ratio": 1.1, "min_accuracy": 0.8}


def test_a_limit_dropped_by_one_marker_stays_when_another_sets_it() -> None:
    _, kwargs = merged_markers([((), {"latency_ms": None}), ((), {"latency_ms": 500})])
    assert kwargs == {"latency_ms": 500}


def test_two_modes_are_refused() -> None:
    with pytest.raises(BudgetError, match="different modes"):
        merged_markers([((), {"mode": "natural"}), ((), {"mode": "fixed_length"})])


limit_value = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=10**20),
    st.booleans(),
    st.text(max_size=5),
)
marker = st.dictionaries(
    st.sampled_from([*LIMIT_SPECS, "mode", "latncy_ratio"]), limit_value, max_size=4
)


@given(st.lists(marker, min_size=1, max_size=3))
def test_any_marker_arguments_give_a_budget_or_a_clear_error(markers) -> None:
    try:
        args, kwargs = merged_markers([((), m) for m in markers])
        budget = parse_budget(args, kwargs)
    except BudgetError as error:
        assert str(error)
        return
    for limit in budget.limits:
        values = [m[limit.name] for m in markers if m.get(limit.name) is not None]
        strictest = max(values) if limit.spec.kind.at_least else min(values)
        assert limit.value == float(strictest)  # a float, also for an int past 2**53
